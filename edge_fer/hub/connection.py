"""Whether Qualcomm AI Hub can be used from here, decided in seconds and said in one line.

Three things must hold, checked in this order before anything is uploaded: the client package is
installed (the `hub` extra), its configuration file holds an API token (what `qai-hub configure
--api_token TOKEN` writes), and the service's address answers a TCP connection within a short
timeout. Each failure is a ToolMissingError (exit 3) naming what is missing and how to provide it.
"""

from __future__ import annotations

import configparser
import importlib
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from edge_fer.errors import ToolMissingError

CLIENT_MODULE = "qai_hub"
CONFIG_ENV = "QAIHUB_CLIENT_INI"          # the client's own variable (qai_hub/api_utils.py)
DEFAULT_CONFIG = Path("~/.qai_hub/client.ini")
CONNECT_TIMEOUT_S = 3.0
INSTALL_HINT = "pip install 'edge-fer[hub]'"
CONFIGURE_HINT = "qai-hub configure --api_token YOUR_TOKEN (the token is on your AI Hub account page)"


def config_path() -> Path:
    """The client's configuration file: $QAIHUB_CLIENT_INI, else ~/.qai_hub/client.ini."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()


def read_config(path: Path | None = None) -> dict[str, str]:
    """The [api] section of the client's configuration, with a non-empty api_token and api_url."""
    path = path or config_path()
    if not path.is_file():
        raise ToolMissingError(f"no Qualcomm AI Hub token: {path} does not exist; run "
                               f"{CONFIGURE_HINT}, or point {CONFIG_ENV} at a client.ini")
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise ToolMissingError(f"{path}: not a readable AI Hub client configuration "
                               f"({' '.join(str(exc).split())[:200]}); run {CONFIGURE_HINT}") from None
    section = dict(parser["api"]) if parser.has_section("api") else {}
    missing = [key for key in ("api_token", "api_url") if not section.get(key, "").strip()]
    if missing:
        raise ToolMissingError(f"{path}: no {' or '.join(missing)} in its [api] section; run "
                               f"{CONFIGURE_HINT}")
    return section


def service_address(api_url: str) -> tuple[str, int]:
    url = urlparse(api_url)
    if not url.hostname or url.scheme not in ("http", "https"):
        raise ToolMissingError(f"{config_path()}: api_url {api_url!r} is not an http(s) address; "
                               f"run {CONFIGURE_HINT}")
    return url.hostname, url.port or (443 if url.scheme == "https" else 80)


def check_reachable(api_url: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """One TCP connection to the service with a short timeout (name lookup included)."""
    host, port = service_address(api_url)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ToolMissingError(f"Qualcomm AI Hub is not reachable at {host}:{port} ({reason} within "
                               f"{timeout:g} s): check the network or proxy; nothing was uploaded") from None


def client_module():
    """The installed client package, or exit 3 naming the extra that brings it."""
    try:
        return importlib.import_module(CLIENT_MODULE)
    except ImportError as exc:
        detail = "" if getattr(exc, "name", None) == CLIENT_MODULE else f" ({exc})"
        raise ToolMissingError(f"the hub commands need Qualcomm AI Hub's client{detail}: "
                               f"{INSTALL_HINT}") from None


def open_client():
    """A `qai_hub.Client` once the package, the token and the network are all there."""
    module = client_module()
    check_reachable(read_config()["api_url"])
    client = module.Client()
    client.set_verbose(False)  # no progress prints of its own: edge-fer reports
    return client
