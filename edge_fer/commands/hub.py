"""`edge-fer hub devices | profile | run`: Qualcomm AI Hub's hosted Snapdragon devices.

Every check that needs no network comes first (files, the input list, model vs runtime), then
the client, token and reachability (edge_fer.hub.connection, seconds), then the jobs. Several
--device values run as parallel jobs.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import typer

from edge_fer.commands import reports_errors
from edge_fer.commands.options import choice, plain

HUB_RUNTIMES = ("tflite", "qnn", "onnx")   # edge_fer/hub/jobs.py TARGET_RUNTIMES
HubRuntime = choice("HubRuntime", HUB_RUNTIMES)

EPILOG = """
Examples:

  edge-fer hub devices --chipset qualcomm-snapdragon-8gen3

  edge-fer hub profile model_int8.tflite -d chipset:qualcomm-snapdragon-8gen3

  edge-fer hub run model_int8.tflite -i raws/input_list.txt -d chipset:qualcomm-snapdragon-8gen3 -o runs/hub/8gen3

Needs the hub extra (pip install 'edge-fer[hub]') and an AI Hub token (qai-hub configure
--api_token TOKEN); edge-fer classify then reads the results. See docs/hub.md.
"""

DEVICE_OPTION = typer.Option(..., "--device", "-d", help="Device name or attribute (e.g. "
                             "chipset:qualcomm-snapdragon-8gen3); repeat for several.")
RUNTIME_OPTION = typer.Option(None, "--runtime", "-r", help="tflite, qnn or onnx (default: the "
                              "file's own; .onnx is compiled for the runtime asked).")
TIMEOUT_OPTION = typer.Option(1800.0, "--timeout", min=1.0, help="Seconds to wait for each job.")


def device_slug(device: str) -> str:
    """A folder name for one device's results: `Samsung Galaxy S24 (Family)` → samsung-galaxy-s24-family."""
    return re.sub(r"[^a-z0-9]+", "-", device.lower()).strip("-") or "device"


def _runner(model: Path, device: str, runtime: str | None, timeout: float, client):
    from edge_fer.hub.runner import HubRunner

    return HubRunner.load(model, device=device, hub_runtime=runtime, timeout=timeout, client=client)


def _prechecks(model: Path, runtime: str | None) -> str:
    """Everything that needs no network: the model file and what it can run as."""
    from edge_fer.files import require_regular
    from edge_fer.hub import jobs

    require_regular(model, "a model")
    runtime = runtime or jobs.default_runtime(model)
    jobs.check_model_for_runtime(model, runtime)
    return runtime


def _each_device(devices: list[str], work) -> list:
    """work(device) for every device, as parallel jobs; the first failure is raised."""
    if len(set(devices)) != len(devices):
        raise typer.BadParameter("a --device is given twice", param_hint="--device")
    with ThreadPoolExecutor(max_workers=min(8, len(devices))) as pool:
        return list(pool.map(work, devices))


def register(app: typer.Typer) -> None:
    hub = typer.Typer(help="Profile and run models on AI Hub's hosted Snapdragon devices.",
                      no_args_is_help=True, epilog=EPILOG)
    app.add_typer(hub, name="hub")

    @hub.command("devices", epilog=EPILOG)
    @reports_errors
    def devices(
        chipset: str = typer.Option(None, "--chipset", help="Only this chipset, e.g. "
                                    "qualcomm-snapdragon-8gen3."),
        name: str = typer.Option(None, "--name", help="Only devices with exactly this name."),
        as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
    ) -> None:
        """AI Hub's devices: name, OS, chipset and runtimes."""
        from edge_fer import reporter
        from edge_fer.hub import connection, jobs

        client = connection.open_client()
        attributes = [f"chipset:{chipset.removeprefix('chipset:')}"] if chipset else []
        with jobs.client_chatter_to_stderr():
            found = client.get_devices(name=name or "", attributes=attributes)
        rows = jobs.device_rows(found)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            typer.echo("no device matches")
            return
        typer.echo(reporter.table_text(["device", "os", "chipset", "runtimes"],
                                       [[r["name"], r["os"], r["chipset"], r["runtimes"]] for r in rows],
                                       shrink=0), nl=False)

    @hub.command("profile", epilog=EPILOG)
    @reports_errors
    def profile(
        model: Path = typer.Argument(..., help="A .tflite file, or an .onnx model to compile."),
        device: list[str] = DEVICE_OPTION,
        runtime: HubRuntime = RUNTIME_OPTION,
        timeout: float = TIMEOUT_OPTION,
        json_out: Path = typer.Option(None, "--out", "-o", help="File to write the JSON to as well."),
        as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    ) -> None:
        """Latency, memory and slowest layers of a model on hosted devices."""
        from edge_fer.atomic import atomic_write_text
        from edge_fer.benchmarks.measure import synthetic_faces
        from edge_fer.hub import connection, jobs
        from edge_fer.hub.runner import profile_row
        from edge_fer.tensors.spec import model_inputs

        runtime = _prechecks(model, plain(runtime))
        client = connection.open_client()

        def one(name: str):
            runner = _runner(model, name, runtime, timeout, client)
            return profile_row(runner, model_inputs(synthetic_faces(1), runner.input_spec))

        with jobs.client_chatter_to_stderr():
            results = _each_device(device, one)
        report = {"service": "Qualcomm AI Hub", "latency": "ms per inference of one image as "
                  "the hosted device timed it; peak_rss_mib = the device's peak inference memory",
                  "rows": [{**row.to_dict(), **hosted} for row, hosted in results]}
        text = json.dumps(report, indent=2) + "\n"
        if json_out:
            atomic_write_text(json_out, text)
        if as_json:
            typer.echo(text, nl=False)
            return
        _print_profiles(results)

    @hub.command("run", epilog=EPILOG)
    @reports_errors
    def run(
        model: Path = typer.Argument(..., help="A .tflite file, or an .onnx model to compile."),
        input_list: Path = typer.Option(..., "--input-list", "-i", help="input_list.txt from "
                                        "raw-inputs."),
        device: list[str] = DEVICE_OPTION,
        output_dir: Path = typer.Option(..., "--out", "-o", help="Folder for the Result_<i> folders "
                                        "(one subfolder per device when several)."),
        runtime: HubRuntime = RUNTIME_OPTION,
        timeout: float = TIMEOUT_OPTION,
        as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
    ) -> None:
        """Run an input list on hosted devices into Result folders."""
        from edge_fer.hub import connection, jobs
        from edge_fer.hub.runner import INPUTS_PER_JOB
        from edge_fer.tensors.rawio import read_input_list

        runtime = _prechecks(model, plain(runtime))
        parsed = read_input_list(input_list)
        client = connection.open_client()

        def one(name: str) -> dict:
            folder = output_dir / device_slug(name) if len(device) > 1 else output_dir
            runner = _runner(model, name, runtime, timeout, client)
            timings = runner.run_list(parsed, folder, batch=min(INPUTS_PER_JOB, max(1, len(parsed))))
            return {"device": name, "runtime": runtime, "inputs": len(parsed),
                    "output_dir": str(folder), "jobs": runner.job_ids, "total_s": round(timings.total_s, 2)}

        with jobs.client_chatter_to_stderr():
            results = _each_device(device, one)
        if as_json:
            typer.echo(json.dumps(results, indent=2))
            return
        for result in results:
            typer.echo(f"hub {result['runtime']} on {result['device']}: {result['inputs']} inputs → "
                       f"{result['output_dir']}/Result_* in {result['total_s']:.1f} s "
                       f"(jobs {', '.join(result['jobs'])})")


def _print_profiles(results: list) -> None:
    from edge_fer import reporter

    lines = []
    for row, hosted in results:
        units = ", ".join(f"{unit} {count}" for unit, count in sorted(hosted["compute_units"].items()))
        lines.append([hosted["device"], row.runtime.removeprefix("hub "), row.precision,
                      f"{row.p50_ms:.3f}", f"{row.mean_ms:.3f}",
                      f"{row.peak_rss_mib:.1f}" if row.peak_rss_mib is not None else "-", units or "-"])
    typer.echo(reporter.table_text(["device", "runtime", "prec", "p50\nms", "mean\nms", "peak\nMiB",
                                    "layers per\ncompute unit"], lines, shrink=0,
                                   right=(3, 4, 5)), nl=False)
    for row, hosted in results:
        if hosted["top_layers"]:
            slowest = "; ".join(f"{layer['name']} {layer['ms']:.3f} ms ({layer['compute_unit']})"
                                for layer in hosted["top_layers"][:10])
            typer.echo(reporter.wrapped(f"{hosted['device']}: slowest layers: {slowest}", indent="  "))
    typer.echo("latency as the hosted device timed one image per inference (AI Hub's profile)")
