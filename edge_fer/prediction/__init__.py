"""predict: photos, folders, videos and cameras → every face → its expression, annotated.

Wing 9 of the layout (see edge_fer/__init__.py): imports every wing below it (runners to
classify, convert to make the shipped model int8 TFLite once).
"""
