"""Analysis: output tensors → labels and metrics (classify), runtimes against each other
(compare), a model scored on a data set (evaluate), and inspect's report of what a model file
holds (read by edge_fer/artifacts).

Wing 6 of the layout (see edge_fer/__init__.py): imports the root modules, data, tensors,
platform, training and runners (never convert).
"""
