"""Benchmarks: host latency/throughput/memory per runtime and precision (bench: the run; cases,
facts, measure, report, table, plot: its parts by job) and the on-device SNPE and TFLite
benchmarks over adb (device/).

Wing 8 of the layout (see edge_fer/__init__.py): may import every wing below it (root, data, tensors, platform, training,
runners, analysis, convert).
"""
