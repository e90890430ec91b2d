"""Find Qualcomm's SNPE/QAIRT SDK tools and adb (CONVENTIONS: Qualcomm runtimes).

Search order: $SNPE_ROOT, then $QAIRT_SDK_ROOT (each `bin/<host-arch>/` and `bin/`), then PATH.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from edge_fer.errors import ToolMissingError

SDK_ENV_VARS = ("SNPE_ROOT", "QAIRT_SDK_ROOT")
SDK_HINT = ("install Qualcomm's SNPE/QAIRT SDK and set SNPE_ROOT (or QAIRT_SDK_ROOT) to its folder, "
            "or put its bin/<arch> folder on PATH")
ADB_HINT = "install Android platform-tools (Debian package 'adb') and connect a device with USB debugging"
HOST_ARCH_DIRS = {
    "x86_64": ("x86_64-linux-clang",),
    "aarch64": ("aarch64-ubuntu-gcc9.4", "aarch64-oe-linux-gcc11.2"),
}


@dataclass(frozen=True)
class SdkInfo:
    root: Path | None      # SDK folder, None when tools were found on PATH only
    source: str            # "SNPE_ROOT", "QAIRT_SDK_ROOT" or "PATH"
    version: str           # e.g. "2.28.0.241029", "" when unknown


def _candidate_bin_dirs() -> list[tuple[Path, str, Path]]:
    dirs = []
    for var in SDK_ENV_VARS:
        value = os.environ.get(var)
        if not value:
            continue
        root = Path(value).expanduser()
        for arch_dir in HOST_ARCH_DIRS.get(platform.machine(), ()):
            dirs.append((root / "bin" / arch_dir, var, root))
        dirs.append((root / "bin", var, root))
    return dirs


def find_sdk_tool(name: str) -> Path | None:
    """Path of an SDK executable (e.g. 'snpe-net-run'), or None."""
    for bin_dir, _, _ in _candidate_bin_dirs():
        candidate = bin_dir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def require_sdk_tool(name: str) -> Path:
    """Path of an SDK executable; ToolMissingError (exit 3) naming SNPE_ROOT when absent."""
    tool = find_sdk_tool(name)
    if tool is None:
        raise ToolMissingError(f"{name} not found: {SDK_HINT}")
    return tool


def sdk_info(probe_tool: str = "snpe-net-run") -> SdkInfo | None:
    """Where the SDK is and which version, or None when no SDK tool is found."""
    tool = find_sdk_tool(probe_tool) or find_sdk_tool("snpe-tensorflow-to-dlc")
    if tool is None:
        return None
    for bin_dir, var, root in _candidate_bin_dirs():
        if tool.parent == bin_dir:
            return SdkInfo(root=root, source=var, version=_sdk_version(root, tool))
    return SdkInfo(root=None, source="PATH", version=_sdk_version(None, tool))


def _sdk_version(root: Path | None, tool: Path) -> str:
    """SDK version from the SDK's sdk.yaml / folder name, else from the tool's --version."""
    if root is not None:
        for manifest in (root / "sdk.yaml", root / "share" / "QNN" / "sdk.yaml"):
            if manifest.is_file():
                match = re.search(r"^version:\s*(\S+)", manifest.read_text(errors="replace"), re.MULTILINE)
                if match:
                    return match.group(1)
        match = re.search(r"(\d+\.\d+\.\d+(?:\.\d+)?)", root.name)
        if match:
            return match.group(1)
    from edge_fer.errors import EdgeFerError
    from edge_fer.platform.tools import QUERY_TIMEOUT_S, run_tool

    try:
        out = run_tool([tool, "--version"], timeout=QUERY_TIMEOUT_S)
    except EdgeFerError:
        return ""
    match = re.search(r"(\d+\.\d+\.\d+(?:\.\d+)?)", out.output)
    return match.group(1) if match else ""


def find_adb() -> Path | None:
    found = shutil.which("adb")
    return Path(found) if found else None


def require_adb() -> Path:
    adb = find_adb()
    if adb is None:
        raise ToolMissingError(f"adb not found: {ADB_HINT}")
    return adb
