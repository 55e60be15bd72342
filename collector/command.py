"""Run one read-only product command with a hard timeout.

The command gets its own session (process group) so a timeout kills everything
it started, not just the shell at the top. stdout streams into a bounded spool;
only the tail of stderr is kept, to explain failures.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

from collector.capture import BoundedSpool

STDERR_TAIL = 2048
# After SIGTERM, how long a process group gets before SIGKILL.
KILL_GRACE = 2.0
READ_SIZE = 64 * 1024
# How often a waiting command checks whether the run was interrupted.
POLL = 0.2


@dataclass(frozen=True)
class CommandRun:
    exit_code: int | None  # None when killed at the timeout
    timed_out: bool
    stderr_tail: str
    duration: float


def run_command(
    argv: list[str],
    env: Mapping[str, str],
    timeout: float,
    spool: BoundedSpool,
    stop: threading.Event | None = None,
) -> CommandRun:
    """Run argv to completion, its timeout, or until `stop` is set (Ctrl-C)."""
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd="/",
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr: collections.deque[bytes] = collections.deque()
    readers = [
        threading.Thread(target=_pump, args=(process.stdout, spool.write), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, _tail_into(stderr)), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        timed_out = not _wait(process, started + timeout, stop or threading.Event())
        if timed_out:
            _kill_group(process)
    finally:
        for reader in readers:
            reader.join(KILL_GRACE)
        if any(reader.is_alive() for reader in readers):
            # Something the command started still holds its output open: end
            # the whole group rather than leave strays on the customer's host.
            _kill_group(process)
    return CommandRun(
        exit_code=None if timed_out else process.returncode,
        timed_out=timed_out,
        stderr_tail=b"".join(stderr)[-STDERR_TAIL:].decode("utf-8", errors="replace"),
        duration=time.monotonic() - started,
    )


def _wait(process: subprocess.Popen[bytes], deadline: float, stop: threading.Event) -> bool:
    """True when the process ended by itself before the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or stop.is_set():
            return False
        try:
            process.wait(timeout=min(left, POLL))
            return True
        except subprocess.TimeoutExpired:
            continue


def _pump(stream: IO[bytes], write: Callable[[bytes], object]) -> None:
    with stream:
        while data := os.read(stream.fileno(), READ_SIZE):
            write(data)


def _tail_into(chunks: collections.deque[bytes]) -> Callable[[bytes], None]:
    def keep(data: bytes) -> None:
        chunks.append(data)
        while sum(len(c) for c in chunks) > STDERR_TAIL and len(chunks) > 1:
            chunks.popleft()

    return keep


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
