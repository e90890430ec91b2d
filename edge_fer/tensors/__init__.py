"""Tensors and the files that carry them: SNPE `.raw` files and input lists (rawio), `Result_N/`
output folders (results), frozen-graph I/O (graphio), and images → raws (raw_inputs).

Wing 2 of the layout (see edge_fer/__init__.py): imports only the root modules and data.
"""
