"""`edge-fer doctor`: one table of the runtimes, Qualcomm SDK and devices that are here."""

from __future__ import annotations

import json

import typer

from edge_fer.commands import reports_errors

EXAMPLE = """
Examples:

  edge-fer doctor

  edge-fer doctor --json

  edge-fer doctor --short     (one line: edge-fer's version and each runtime's)

Checks LiteRT, onnxruntime (providers), onnxruntime-qnn (runs a one-op probe model on each QNN
backend: HTP is Qualcomm's emulator on x86_64), the SNPE SDK (SNPE_ROOT / QAIRT_SDK_ROOT / PATH,
version, tools, Android build) and adb (devices, their SoC and the matching --htp-socs name).
Each missing part comes with how to get it. Exit code 0 whatever is missing.
"""

def _print_table(report: dict) -> None:
    """A status table (component, status, version), then each component's details and how to get
    what is missing, wrapped at spaces: long paths stay whole."""
    from edge_fer import reporter

    echo = typer.echo
    echo("edge-fer doctor: what is here")
    echo(reporter.table_text(["component", "status", "version"],
                             [[row["name"], row["status"], row["version"] or ""]
                              for row in report["components"]], shrink=0), nl=False)
    for row in report["components"]:
        if not row["details"] and not row["hint"]:
            continue
        echo(f"{row['name']}:")
        for line in row["details"]:
            echo(reporter.wrapped(f"  {line}", indent="    "))
        if row["hint"]:
            echo(reporter.wrapped(f"  how to get it: {row['hint']}", indent="    "))
    runners = report["runners"]
    ready = [name for name, why in runners.items() if why is None]
    echo(f"runners that can run here: {', '.join(ready) or 'none'}")
    for name, why in runners.items():
        if why is not None:
            echo(reporter.wrapped(f"  {name}: {why}", indent="    "))


def one_line(report: dict) -> str:
    """`edge-fer 0.1.0; tensorflow 2.20.0, LiteRT 2.3.0, ..., SNPE SDK missing, adb missing`:
    edge-fer's version and each runtime's (its status when it is not ok), on one line."""
    from edge_fer import __version__
    from edge_fer.runners.doctor import OK, distribution_version

    tf_version = distribution_version("tensorflow") or distribution_version("tensorflow-cpu")
    tf_problem = report["runners"].get("tf")
    parts = [f"tensorflow {tf_version or 'ok'}" if tf_problem is None else "tensorflow missing"]
    for row in report["components"]:
        shown = f"{row['name']} {row['version'] or row['status']}" if row["status"] == OK \
            else f"{row['name']} {row['status']}"
        backends = row["facts"].get("backends")
        if isinstance(backends, dict) and "htp" in backends:  # onnxruntime-qnn
            shown += " (HTP runs)" if backends["htp"]["runs"] else " (HTP does not run)"
        devices = row["facts"].get("devices")
        if devices is not None:  # adb
            ready = sum(device["state"] == "device" for device in devices)
            shown += f" ({ready} device{'' if ready == 1 else 's'} ready)"
        parts.append(shown)
    return f"edge-fer {__version__}; " + ", ".join(parts)


def register(app: typer.Typer) -> None:
    @app.command("doctor", help="Show which runtimes (LiteRT, onnxruntime, onnxruntime-qnn and "
                 "its QNN backends), SNPE SDK and adb devices are here, and how to get what is "
                 "missing.\n" + EXAMPLE)
    @reports_errors
    def doctor(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
               short: bool = typer.Option(False, "--short", "-s", help="One line: edge-fer's "
                                          "version and each runtime's (or what is missing)."),
               ) -> None:
        from edge_fer.errors import UsageError
        from edge_fer.runners.doctor import diagnose

        if short and as_json:
            raise UsageError("--short and --json ask for two formats; give one of them")
        report = diagnose()
        if short:
            typer.echo(one_line(report))
        elif as_json:
            typer.echo(json.dumps(report, indent=2))
        else:
            _print_table(report)
