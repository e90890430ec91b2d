"""Errors that carry the exit code of CONVENTIONS (1 failure, 2 usage, 3 missing tool)."""

from __future__ import annotations


class EdgeFerError(Exception):
    """A failure the user can act on: bad input, conversion error. One line, exit 1."""

    exit_code = 1


class UsageError(EdgeFerError):
    """Options that do not fit together or name nothing known. Exit 2."""

    exit_code = 2


class ToolMissingError(EdgeFerError):
    """A required external SDK, tool or device is absent. Exit 3; the message says how to get it."""

    exit_code = 3
