"""Analysis: output tensors → labels and metrics (classify), runtimes against each other
(compare), a model scored on a data set (evaluate), and what a model file holds (inspect,
inspect_artifacts).

Wing 6 of the layout (see edge_fer/__init__.py): imports the root modules, data, tensors,
platform, training and runners (never convert, which uses inspect_artifacts to check what it
writes).
"""
