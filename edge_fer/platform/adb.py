"""The one adb device type (the snpe runner, doctor and device-bench share it): list what adb
sees, pick the device to use, and run commands on it through edge_fer.platform.tools."""

from __future__ import annotations

import shlex
from pathlib import Path

from edge_fer import reporter
from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError
from edge_fer.platform.sdk import require_adb
from edge_fer.platform.tools import QUERY_TIMEOUT_S, ToolRun, run_tool


def parse_adb_devices(text: str) -> list[tuple[str, str]]:
    """`adb devices` output → [(serial, state)] ('device', 'unauthorized', 'offline', ...)."""
    devices = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("List of devices", "*")) or "\t" not in line:
            continue
        serial, state = line.split("\t", 1)
        devices.append((serial.strip(), state.split()[0] if state.split() else ""))
    return devices


def list_devices(adb: Path) -> list[tuple[str, str]]:
    """What `adb devices` lists; exit 3 when adb does not answer."""
    try:
        listed = run_tool([adb, "devices"], "adb devices", timeout=QUERY_TIMEOUT_S, check=True)
    except EdgeFerError as exc:
        raise ToolMissingError(f"adb devices failed: {exc}") from None
    return parse_adb_devices(listed.stdout)


def pick_device(serial: str | None = None) -> Device:
    """The adb device to use: `serial`, else the only one attached; exit 3 without adb or a
    device, a usage error when several are attached and none is named."""
    adb = require_adb()
    states = list_devices(adb)
    ready = [name for name, state in states if state == "device"]
    if serial is None:
        if not ready:
            others = ", ".join(" ".join(pair) for pair in states) or "none"
            raise ToolMissingError(f"no device attached (adb devices lists: {others}); connect "
                                   f"one with USB debugging enabled, or pass --device SERIAL")
        if len(ready) > 1:
            raise UsageError(f"{len(ready)} devices attached ({', '.join(ready)}); choose one "
                             f"with --device SERIAL")
        serial = ready[0]
    return Device(serial, adb)


class Device:
    """One adb device, addressed by serial on every call."""

    def __init__(self, serial: str, adb: Path | None = None) -> None:
        self.adb = adb or require_adb()
        self.serial = serial
        state = run_tool([self.adb, "-s", serial, "get-state"], "adb get-state",
                         timeout=QUERY_TIMEOUT_S)
        if state.returncode != 0 or state.stdout.strip() != "device":
            listed = ", ".join(" ".join(pair) for pair in list_devices(self.adb))
            raise ToolMissingError(
                f"device {serial} not available to adb "
                f"({(state.stderr or state.stdout).strip() or 'no answer'}); adb devices lists: "
                f"{listed or 'none'} — connect it with USB debugging enabled")

    def call(self, *args: str, what: str) -> ToolRun:
        return run_tool([self.adb, "-s", self.serial, *args], what, check=True)

    def shell(self, argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
              what: str = "adb shell") -> ToolRun:
        """Run argv on the device; adb shell takes one command line, so each word is quoted."""
        words = [f"{key}={shlex.quote(value)}" for key, value in (env or {}).items()]
        line = shlex.join(argv) if not words else " ".join(words) + " " + shlex.join(argv)
        if cwd:
            line = f"cd {shlex.quote(cwd)} && {line}"
        return self.call("shell", line, what=what)

    def getprop(self, name: str) -> str:
        """An Android system property ('' when the device does not answer)."""
        try:
            return self.shell(["getprop", name], what=f"getprop {name}").stdout.strip()
        except EdgeFerError:
            return ""

    def remove_quietly(self, remote: str) -> None:
        """Remove our folder from the device; a failure is a warning, never the run's error."""
        try:
            self.shell(["rm", "-rf", remote], what="cleaning the device folder")
        except EdgeFerError as exc:
            reporter.warn(str(exc))

    def push(self, local: Path, remote: str) -> None:
        source = f"{local}/." if local.is_dir() else str(local)
        self.call("push", source, remote, what=f"adb push {local}")

    def pull(self, remote: str, local: Path) -> None:
        self.call("pull", f"{remote}/.", str(local), what=f"adb pull {remote}")
