"""Domain errors and the exit codes they map to.

Every error the tool raises on purpose derives from PaCollectError; the CLI turns
it into a one-line message and its exit status in one place (collector.cli).
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Documented exit codes (README, `pa-collect --help`)."""

    OK = 0  # bundle written; the summary's status says ok or partial
    PROBLEMS = 1  # verify: the bundle opened but failed a check (each problem is listed)
    BAD_INPUT = 2  # bad input or usage
    UPLOAD_FAILED = 3  # upload failed; the bundle is kept
    NO_BUNDLE = 4  # no bundle written (disk space, permissions)
    LOCKED = 5  # another run holds the lock
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


class PaCollectError(Exception):
    """Base of every error the tool reports to the user."""

    exit_status = ExitStatus.BAD_INPUT


class BadInput(PaCollectError):
    """The user gave something we cannot use (case number, date, profile...)."""

    exit_status = ExitStatus.BAD_INPUT


class PluginError(PaCollectError):
    """A plugin violates the plugin contract (raised at registration)."""

    exit_status = ExitStatus.BAD_INPUT


class NoBundle(PaCollectError):
    """Nothing could be written: disk full, permissions, archive failure."""

    exit_status = ExitStatus.NO_BUNDLE


class UploadFailed(PaCollectError):
    exit_status = ExitStatus.UPLOAD_FAILED


class Locked(PaCollectError):
    exit_status = ExitStatus.LOCKED
