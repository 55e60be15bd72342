"""Errors of the intake server.

Everything raised on purpose derives from collector's PaCollectError, so the CLI
maps it to a one-line message and an exit code in one place (pa_intake.cli).
HTTP handlers raise ProtocolError; the app turns it into a response in one place
(pa_intake.app).
"""

from __future__ import annotations

from collections.abc import Mapping

from collector.errors import ExitStatus, PaCollectError


class IntakeError(PaCollectError):
    """A problem the operator can fix: bad option, unknown case, missing file."""

    exit_status = ExitStatus.BAD_INPUT


class ProtocolError(IntakeError):
    """A request the server refuses: its HTTP status, a one-line reason, headers."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})
