"""Training: the TF1 graph networks (model), the training loop (train), augmentation, precise
batch-norm statistics (bn_stats), freezing a run into an inference `.pb` (freeze), and the
registry of shipped models (pretrained; their files live under data/pretrained/).

Wing 4 of the layout (see edge_fer/__init__.py): imports the root modules, data, tensors and
platform.
"""
