"""Declarative collection specs: what a plugin wants, never how to get it.

A plugin returns these from `specs()`; the planner expands them into concrete
items and the runner collects each one through the redactor. Specs are frozen,
keyword-only dataclasses so a plugin reads as a list of facts about its product.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collector.logwindow import LogFormat

if TYPE_CHECKING:
    from collector.host import Host


def slug(text: str) -> str:
    """A file-name-safe rendering of a command line or path."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] or "item"


@dataclass(frozen=True, kw_only=True)
class Spec:
    # Unique within a plugin; names the item in the bundle and the manifest.
    name: str = ""
    # Raw output that must never be shortened; most items may be.
    max_size: int | None = None

    @property
    def source(self) -> str:
        """What a human reads as the origin: a path or a command line."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class FileSpec(Spec):
    """One file on the host, by absolute path."""

    path: str

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"FileSpec path must be absolute: {self.path!r}")
        if not self.name:
            object.__setattr__(self, "name", slug(self.path))

    @property
    def source(self) -> str:
        return self.path


@dataclass(frozen=True, kw_only=True)
class GlobSpec(Spec):
    """Files matching a glob; with `newest`, only the N most recently modified."""

    pattern: str
    newest: int | None = None

    def __post_init__(self) -> None:
        if not self.pattern.startswith("/"):
            raise ValueError(f"GlobSpec pattern must be absolute: {self.pattern!r}")
        if not self.name:
            object.__setattr__(self, "name", slug(self.pattern))

    @property
    def source(self) -> str:
        return self.pattern


@dataclass(frozen=True, kw_only=True)
class LogSpec(GlobSpec):
    """Log files (a glob) cut to the run's time window, record by record.

    Files last written before the window are skipped unread; the others are
    entered by bisection on record timestamps, never scanned from the start.
    """

    format: LogFormat = field(compare=False)


@dataclass(frozen=True, kw_only=True)
class CommandSpec(Spec):
    """A read-only command, resolved through the host's PATH.

    `run_as`: when pa-collect runs as root, the command runs as this user through
    a login shell (`su - USER -c ...`), so it gets the owner's environment (Db2's
    db2profile, for one). Otherwise it runs as the caller, with `env` added.
    `ok_exit_codes`: exit statuses that mean the command worked (Informix's
    `onstat -` reports the server mode in its exit status).
    """

    argv: tuple[str, ...]
    timeout: float = 30.0
    run_as: str | None = None
    env: Mapping[str, str] = field(default_factory=dict, compare=False)
    ok_exit_codes: frozenset[int] = frozenset({0})

    def __post_init__(self) -> None:
        if not self.argv:
            raise ValueError("CommandSpec needs a command")
        if not self.name:
            object.__setattr__(self, "name", slug(" ".join(self.argv)))

    @property
    def source(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True, kw_only=True)
class FactSpec(Spec):
    """Structured data computed in-process (psutil, distro), saved as JSON."""

    collect: Callable[[Host], Any] = field(compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("FactSpec needs a name")

    @property
    def source(self) -> str:
        return f"fact:{self.name}"
