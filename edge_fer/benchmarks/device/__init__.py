"""On-device benchmarks over adb (`edge-fer device-bench snpe|tflite`).

- SNPE (snpe): the DLC, raws, input list and the SDK's Android build (snpe-net-run,
  `lib/<arch>`, the Hexagon skeletons of the device's DSP architecture) go to the device;
  snpe-net-run runs `iterations` times per runtime (cpu, gpu, dsp) with `--perf_profile`; the
  Result folders and `SNPEDiag*.log` come back; the host's snpe-diagview reads each log. Per
  runtime: mean, min and max of the runs' "Total Inference Time" (each snpe-net-run run reports
  its average over the list), in `snpe_device_bench.csv/.json`.
- TFLite (tflite): LiteRT's `benchmark_model` (an Android build the user supplies) runs per
  delegate (cpu, gpu, nnapi) for `iterations` runs; mean/min/max from its own statistics, in
  `tflite_device_bench.csv/.json`. For the label check it runs once per input raw with
  `--input_layer_value_files` and `--output_filepath`.

Either way the device's outputs are written as Result folders (tensors.results) and checked
against the host reference with edge_fer.analysis.compare (what `edge-fer compare REF
device_results/` runs). No adb, no device, no SDK or no benchmark_model: ToolMissingError
(exit 3) saying what is missing.

The modules: logs (what the device tools print, parsed), summary (one row per runtime: CSV,
JSON, the table), session (what both flows share on the device: staging, per-runtime folders,
the label check), snpe and tflite (the two flows).
"""
