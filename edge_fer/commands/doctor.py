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

_STYLES = {"ok": "green", "missing": "red", "problem": "yellow"}


def _print_table(report: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    table = Table(title="edge-fer doctor: what is here", title_justify="left", show_lines=True)
    for column in ("component", "status", "version", "details", "how to get it"):
        table.add_column(column, overflow="fold")
    for row in report["components"]:
        style = _STYLES.get(row["status"], "")
        table.add_row(row["name"], f"[{style}]{row['status']}[/{style}]", row["version"],
                      escape("\n".join(row["details"])), escape(row["hint"]))
    console.print(table)
    runners = report["runners"]
    ready = [name for name, why in runners.items() if why is None]
    console.print(f"runners that can run here: {', '.join(ready) or 'none'}", markup=False)
    for name, why in runners.items():
        if why is not None:
            console.print(f"  {name}: {why}", markup=False)


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
