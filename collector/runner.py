"""Run planned items in parallel: bounded pool, time budgets, an outcome for each.

Each item is collected into the staging folder through a fresh redactor. Every
item ends as ok, skipped, failed or timed_out; nothing a plugin or a command does
stops the run. Plugins get a time budget from the start of the run: a command is
never given longer than what is left of it, and items not started in time are
recorded as timed_out.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from collector.boundary import guarded
from collector.capture import BoundedSpool, Captured, Sink, capture_file, capture_stream
from collector.command import run_command
from collector.host import Host
from collector.logwindow import LogFormat, record_start_at_or_after, window_start
from collector.plan import Item, PluginPlan, Skipped
from collector.redact import Rule, StreamRedactor, redact_bytes
from collector.spec import CommandSpec, FactSpec, LogSpec

OK, SKIPPED, FAILED, TIMED_OUT = "ok", "skipped", "failed", "timed_out"
# Logs at least this large are streamed (`on_stream`): packed while captured.
STREAM_MIN = 8 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_size: int = 25 * 1024 * 1024
    max_total_size: int = 2 * 1024 * 1024 * 1024
    jobs: int = 2
    command_timeout: float | None = None  # overrides every spec's own timeout
    # time.monotonic() by which everything must end (a snapshot's --budget):
    # caps every plugin's budget, across both rounds.
    deadline: float | None = None


@dataclass(frozen=True)
class ItemResult:
    plugin: str
    spec_name: str
    kind: str
    source: str
    outcome: str
    reason: str | None = None
    bundle_path: str | None = None
    captured: Captured | None = None
    exit_code: int | None = None
    duration: float = 0.0
    finished: float = 0.0  # seconds from the start of the run
    window_start: int | None = None  # logs: offset of the first record in the window
    log_format: dict[str, Any] | None = None  # logs: LogFormat.describe()
    secret: bool = False

    @classmethod
    def skipped(cls, skip: Skipped) -> ItemResult:
        return cls(
            skip.plugin,
            skip.spec_name,
            skip.kind,
            skip.source,
            SKIPPED,
            skip.reason,
            secret=skip.secret,
        )


@dataclass
class PluginRun:
    plan: PluginPlan
    results: list[ItemResult] = field(default_factory=list)
    started: float = 0.0
    duration: float = 0.0

    @property
    def status(self) -> str:
        if not self.plan.applicability.applies:
            return SKIPPED
        if self.plan.error:
            return FAILED
        outcomes = {r.outcome for r in self.results}
        if TIMED_OUT in outcomes:
            return TIMED_OUT
        return "partial" if FAILED in outcomes else OK


# Called after each item with (result, items done, items in the run).
Progress = Callable[[ItemResult, int, int], None]
# Called when a large log starts to be captured: returns where to write its
# redacted bytes instead of a staging file, and what to call when the capture
# ends (with None, or why it failed).
Stream = Callable[[Item], tuple[Sink, Callable[[str | None], None]]]


class Runner:
    def __init__(
        self,
        host: Host,
        staging: Path,
        limits: Limits,
        rules: Iterable[Rule],
        progress: Progress | None = None,
        since: datetime | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
        on_stream: Stream | None = None,
    ) -> None:
        self.host = host
        self.since = since
        self.staging = staging
        self.limits = limits
        self.rules = tuple(rules)
        self.progress = progress
        # Called in the worker thread with each finished item (the bundle writer
        # packs it while the next items are collected); it may block to bound
        # the data in flight, and what it raises ends the run.
        self.on_item = on_item
        self.on_stream = on_stream
        self._total = 0
        self._total_lock = threading.Lock()
        self._stop = threading.Event()
        self._done = 0
        self._planned = 0
        self._folders: set[Path] = set()  # staging folders made so far

    def run(self, plans: list[PluginPlan]) -> list[PluginRun]:
        runs = [PluginRun(plan) for plan in plans]
        self._planned = sum(len(plan.items) for plan in plans)
        start = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=max(1, self.limits.jobs))
        try:
            futures = []
            for run in runs:
                run.results.extend(ItemResult.skipped(s) for s in run.plan.skipped)
                deadline = start + run.plan.plugin.budget
                if self.limits.deadline is not None:
                    deadline = min(deadline, self.limits.deadline)
                for item in _commands_first(run.plan.items):
                    futures.append((run, pool.submit(self._run_item, item, start, deadline)))
            # One wake-up when all are done (or one failed), not one per item.
            wait([future for _, future in futures], return_when=FIRST_EXCEPTION)
            for run, future in futures:
                run.results.append(future.result())
        except BaseException:
            # Ctrl-C or SIGTERM: end running commands now instead of waiting
            # for their timeouts, and start nothing new.
            self._stop.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for run in runs:
            run.duration = max((r.finished for r in run.results), default=0.0)
        return runs

    def _run_item(self, item: Item, start: float, deadline: float) -> ItemResult:
        began = time.monotonic()
        remaining = deadline - began
        if self._stop.is_set():
            result = _result(item, SKIPPED, "run interrupted")
        elif remaining <= 0:
            result = _result(item, TIMED_OUT, "plugin time budget exhausted before it started")
        elif self._total_used() >= self.limits.max_total_size:
            result = _result(item, SKIPPED, "total size cap reached")
        else:
            result = self._collect(item, remaining)
        now = time.monotonic()
        result = replace(result, duration=now - began, finished=now - start)
        with self._total_lock:
            self._total += result.captured.size if result.captured else 0
            self._done += 1
            done = self._done
        if self.on_item:
            self.on_item(result)
        if self.progress:
            self.progress(result, done, self._planned)
        return result

    def _total_used(self) -> int:
        with self._total_lock:
            return self._total

    def _cap(self, item: Item) -> int:
        cap = item.spec.max_size or self.limits.max_file_size
        return max(0, min(cap, self.limits.max_total_size - self._total_used()))

    def _target(self, item: Item) -> Path:
        target = self.staging / item.bundle_path
        if target.parent not in self._folders:  # one mkdir per folder, not per item
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._folders.add(target.parent)
        return target

    def _collect(self, item: Item, remaining: float) -> ItemResult:
        try:
            if isinstance(item.spec, CommandSpec):
                result = self._command(item, item.spec, remaining)
            elif isinstance(item.spec, FactSpec):
                result = self._fact(item, item.spec)
            elif isinstance(item.spec, LogSpec):
                result = self._log(item, item.spec)
            else:
                result = self._file(item)
        except OSError as error:
            result = _result(item, FAILED, f"{error.strerror or error}")
        return result

    @contextmanager
    def _staged(self, item: Item) -> Iterator[Path | Sink]:
        """Where the item's redacted bytes go: its staging file, or for a large
        log the sink `on_stream` gives (the bundle writer packs it as it is
        captured, and is told at the end whether the capture completed)."""
        if self.on_stream is None or item.kind != "log" or item.estimate < STREAM_MIN:
            yield self._target(item)
            return
        sink, done = self.on_stream(item)
        try:
            yield sink
        except OSError as error:
            done(error.strerror or str(error))
            raise
        except BaseException:
            done("interrupted")
            raise
        done(None)

    def _file(self, item: Item) -> ItemResult:
        assert item.host_path is not None
        with item.host_path.open("rb") as source, self._staged(item) as target:
            size = os.fstat(source.fileno()).st_size
            redactor = StreamRedactor(self.rules)
            captured = capture_stream(
                source, size, target, self._cap(item), redactor, stop=self._stop
            )
        return _captured(item, captured)

    def _log(self, item: Item, spec: LogSpec) -> ItemResult:
        assert item.host_path is not None
        with item.host_path.open("rb") as stream:
            status = os.fstat(stream.fileno())
            if self.since is not None and status.st_mtime < self.since.timestamp():
                written = datetime.fromtimestamp(status.st_mtime, UTC)
                reason = f"no record in the time window (last written {written:%Y-%m-%dT%H:%M:%SZ})"
                return _result(item, SKIPPED, reason)
            cut = LogCut.of(stream, status.st_size, spec.format, self.since, self._cap(item))
            stream.seek(cut.start)
            with self._staged(item) as target:
                captured = capture_stream(
                    stream,
                    status.st_size - cut.start,
                    target,
                    status.st_size - cut.start,
                    StreamRedactor(self.rules),
                    original_size=status.st_size,
                    stop=self._stop,
                )
        captured = replace(captured, truncated=cut.capped)
        return _captured(item, captured, window_start=cut.window_start)

    def _command_argv(self, spec: CommandSpec) -> list[str] | str:
        """The argv to run, or why the command cannot run here."""
        if spec.run_as and self.host.is_root and spec.run_as != "root":
            # The owner's login shell finds the command on the owner's PATH.
            if self.host.which("su") is None:
                return "command not found: su"
            return ["su", "-", spec.run_as, "-c", shlex.join(spec.argv)]
        executable = self.host.which(spec.argv[0])
        if executable is None:
            return f"command not found: {spec.argv[0]}"
        return [executable, *spec.argv[1:]]

    def _command(self, item: Item, spec: CommandSpec, remaining: float) -> ItemResult:
        argv = self._command_argv(spec)
        if isinstance(argv, str):
            return _result(item, SKIPPED, argv)
        timeout = min(self.limits.command_timeout or spec.timeout, remaining)
        target = self._target(item)
        spool = BoundedSpool(target.with_name(target.name + ".spool"), self._cap(item))
        try:
            env = self.host.command_env(spec.env)
            run = run_command(argv, env, timeout, spool, self._stop)
            captured = capture_stream(
                spool.rewind(),
                spool.length,
                target,
                self._cap(item),
                StreamRedactor(self.rules),
                original_size=spool.total,
            )
        finally:
            spool.close()
            spool.path.unlink(missing_ok=True)
        if run.timed_out:
            return _result(
                item, TIMED_OUT, f"killed after {timeout:.0f}s timeout", captured=captured
            )
        if run.exit_code not in spec.ok_exit_codes:
            # The last stderr line explains the failure; it passes the redactor
            # like every other byte that reaches the manifest.
            detail = (run.stderr_tail.strip().splitlines() or [""])[-1]
            detail = redact_bytes(detail.encode(), self.rules)[0].decode(errors="replace")
            reason = f"exit status {run.exit_code}" + (f": {detail}" if detail else "")
            return _result(item, FAILED, reason, captured=captured, exit_code=run.exit_code)
        return _result(item, OK, captured=captured, exit_code=run.exit_code)

    def _fact(self, item: Item, spec: FactSpec) -> ItemResult:
        value, error = guarded(lambda: spec.collect(self.host))
        if error is not None:
            return _result(item, FAILED, error)
        data = json.dumps(value, indent=2, sort_keys=True, default=str).encode() + b"\n"
        target = self._target(item)
        tmp = target.with_name(target.name + ".raw")
        tmp.write_bytes(data)
        try:
            captured = capture_file(tmp, target, self._cap(item), StreamRedactor(self.rules))
        finally:
            tmp.unlink(missing_ok=True)
        return _result(item, OK, captured=captured)


@dataclass(frozen=True)
class LogCut:
    """Where a log's collected part starts: the window's first record, moved
    later to a record boundary when the rest exceeds the size cap."""

    start: int
    window_start: int | None
    capped: bool

    @classmethod
    def of(
        cls, stream: BinaryIO, size: int, fmt: LogFormat, since: datetime | None, cap: int
    ) -> LogCut:
        start = window_start(stream, size, fmt, since) if since is not None else 0
        if size - start <= cap:
            return cls(start, start if since is not None else None, False)
        capped = record_start_at_or_after(stream, fmt, size - cap, size)
        return cls(capped, start if since is not None else None, True)


def _captured(item: Item, captured: Captured, window_start: int | None = None) -> ItemResult:
    """A captured file or log: ok, or failed with what was read before the
    source failed (the bundle keeps it, the manifest says so)."""
    if captured.error is not None:
        reason = f"read failed after {captured.size} bytes: {captured.error}"
        return _result(item, FAILED, reason, captured=captured, window_start=window_start)
    return _result(item, OK, captured=captured, window_start=window_start)


def _commands_first(items: list[Item]) -> list[Item]:
    """Start commands early: they are the slow, time-bounded part."""
    return sorted(items, key=lambda item: item.kind != "command")


def _result(
    item: Item,
    outcome: str,
    reason: str | None = None,
    captured: Captured | None = None,
    exit_code: int | None = None,
    window_start: int | None = None,
) -> ItemResult:
    return ItemResult(
        item.plugin,
        item.spec.name,
        item.kind,
        item.source,
        outcome,
        reason,
        item.bundle_path if captured else None,
        captured,
        exit_code,
        window_start=window_start,
        log_format=item.spec.format.describe() if isinstance(item.spec, LogSpec) else None,
    )
