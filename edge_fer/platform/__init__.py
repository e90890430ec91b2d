"""The Qualcomm platform: finding the SNPE/QAIRT SDK tools and adb (sdk) and onnxruntime-qnn's
execution provider and SoC table (qnn).

Wing 3 of the layout (see edge_fer/__init__.py): imports only the root modules.
"""
