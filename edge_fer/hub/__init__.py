"""Qualcomm AI Hub: compile, profile and run edge-fer's models on hosted Snapdragon devices.

The client (`qai-hub`, the optional extra `edge-fer[hub]`) uploads a model, compiles it for a
device's runtime and runs inference jobs there. edge-fer keeps its own contracts at both ends:
inputs are the input lists and .raw files raw-inputs writes, outputs land as Result_<i>/output.raw
(runners.base writes them, as for every runner), profiles as bench rows.

- connection.py: is the client installed, is there a token, is the service reachable (seconds,
  before any upload; the client itself would retry for about 45 s without a network);
- jobs.py: devices, what to compile for which runtime, jobs and their results;
- runner.py: HubRunner, a runners.base.Runner whose predict() is one inference job.
"""
