"""Measure 3, time windows: `--since 1d` against a full scan, for every log format.

The formats are the ones the installed plugins declare (`log_formats`); each gets
a generated log covering a year (db2diag from bench/corpus.py, the others from
the record layouts below; 2 GiB each in the full run). For each, the cost of a
full scan is a plain sequential read of the whole file (the I/O floor of any
scan), and pa-collect's cost is what the runner does: bisection to the window
(logwindow.window_start) and a copy of the window. In quick mode the bisection
is also checked against a record-by-record linear scan. Target: at most 5%.

    python bench/logwindow.py [--size 2048] [--quick] [--workdir /tmp/pa-bench]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import WORKDIR, MiB, corpus_log, print_rows, row, timed

from collector.discovery import discover_plugins
from collector.logwindow import LogFormat, iter_records, window_start

START = datetime(2025, 1, 1, tzinfo=UTC)  # bench/corpus.py's default start
SPAN = timedelta(days=365)
FULL_MIB, QUICK_MIB = 2048, 16
TARGET = 0.05
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WORDS = (
    "connection reset by peer; retrying operation against the primary server",
    "checkpoint completed in 3 seconds, 1204 buffers written to disk",
    "thread pool WebContainer reached 80 percent of its maximum size",
    "queue depth high event generated for queue APP.REQUEST.QUEUE",
    "java.lang.NullPointerException at com.example.Cart.total(Cart.java:42)",
    "user session expired after inactivity; cleaning up server resources",
)


def _body(rng: random.Random, lines: int) -> str:
    return "".join(f"    {rng.choice(WORDS)} [{rng.randrange(1 << 30):x}]\n" for _ in range(lines))


def _informix(moment: datetime, rng: random.Random, state: dict[str, Any]) -> str:
    # A date header whenever the day changes, then HH:MM:SS records (IDS layout).
    header = ""
    if state.get("day") != moment.date():
        state["day"] = moment.date()
        weekday, month = WEEKDAYS[moment.weekday()], MONTHS[moment.month - 1]
        header = f"{weekday} {month} {moment.day:2d} {moment:%H:%M:%S} {moment.year}\n\n"
    return header + f"{moment:%H:%M:%S}  Checkpoint Completed:  {rng.choice(WORDS)}\n"


def _systemout(moment: datetime, rng: random.Random, state: dict[str, Any]) -> str:
    stamp = f"{moment.month}/{moment.day}/{moment:%y} {moment.hour}:{moment:%M:%S}:000 UTC"
    return f"[{stamp}] 0000004f WebContainer  E   SRVE0777E: {rng.choice(WORDS)}\n" + _body(rng, 3)


def _amqerr(moment: datetime, rng: random.Random, state: dict[str, Any]) -> str:
    time = f"{moment:%Y-%m-%dT%H:%M:%S}.000Z"
    return (
        f"{moment:%m/%d/%Y %I:%M:%S %p} - Process(4711.1) User(mqm) Program(amqzxma0)\n"
        f"                    Host(dbhost01) Installation(Installation1)\n"
        f"                    VRMF(9.3.0.15) QMgr(QM1)\n                    Time({time})\n"
        f"AMQ9209E: {rng.choice(WORDS)}\n\nEXPLANATION:\n{_body(rng, 2)}ACTION:\nNone.\n"
        + "-" * 79
        + "\n"
    )


def _console(moment: datetime, rng: random.Random, state: dict[str, Any]) -> str:
    return f"[0A1B:0002-0C3D] {moment:%m/%d/%Y %I:%M:%S %p}  {rng.choice(WORDS)}\n"


def _access(moment: datetime, rng: random.Random, state: dict[str, Any]) -> str:
    stamp = f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year}:{moment:%H:%M:%S} +0000"
    return (
        f'192.0.2.7 www.acme.example - [{stamp}] "GET /app/{rng.randrange(999)} HTTP/1.1" 200 512\n'
    )


Record = Callable[[datetime, random.Random, dict[str, Any]], str]
RECORDS: dict[str, Record] = {
    "informix_online_log": _informix,
    "websphere-systemout": _systemout,
    "mq_amqerr": _amqerr,
    "domino-console": _console,
    "domino-http-access": _access,
}


def generated_log(name: str, size: int) -> Path:
    """A year of records in format `name`, about `size` bytes, cached."""
    if name == "db2diag":
        return corpus_log(WORKDIR, size)
    path = WORKDIR / f"log-{name}-{size // MiB}M.log"
    if path.exists():
        return path
    record, rng, state = RECORDS[name], random.Random(1), {}
    sample = sum(len(record(START, random.Random(n), {})) for n in range(50)) / 50
    count = max(1, int(size / sample))
    step = SPAN / count
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="latin-1") as out:
        for n in range(count):
            out.write(record(START + step * n, rng, state))
    partial.rename(path)
    return path


def sequential_read(log: Path) -> int:
    total = 0
    with log.open("rb") as stream:
        while chunk := stream.read(8 * MiB):
            total += len(chunk)
    return total


def window_and_copy(log: Path, fmt: LogFormat, since: datetime) -> int:
    """What the runner does for `--since`: bisect, then read the window."""
    size = log.stat().st_size
    with log.open("rb") as stream:
        start = window_start(stream, size, fmt, since)
        stream.seek(start)
        while stream.read(MiB):
            pass
    return start


def linear_start(log: Path, fmt: LogFormat, since: datetime) -> int:
    with log.open("rb") as stream:
        for record in iter_records(stream, fmt):
            if record.timestamp is not None and record.timestamp >= since:
                return record.offset
    return log.stat().st_size


def formats() -> list[LogFormat]:
    """One instance of every log format the installed plugins declare."""
    found: dict[str, LogFormat] = {}
    for plugin in discover_plugins().plugins.values():
        for kind in plugin.log_formats:
            found.setdefault(kind.name, kind())
    return [found[name] for name in sorted(found)]


def measure(fmt: LogFormat, size_mib: int, check: bool) -> dict[str, Any]:
    if fmt.name not in RECORDS and fmt.name != "db2diag":
        return {"name": fmt.name, "missing": True}
    log = generated_log(fmt.name, size_mib * MiB)
    since = START + SPAN - timedelta(days=1)
    sequential_read(log)  # both from the page cache: the cost of reading, not of the disk
    full = timed(lambda: sequential_read(log))
    found: dict[str, int] = {}
    ours = timed(lambda: found.update(start=window_and_copy(log, fmt, since)))
    if check and found["start"] != linear_start(log, fmt, since):
        raise AssertionError(f"{fmt.name}: bisection and linear scan disagree")
    return {"name": fmt.name, "mb": log.stat().st_size / 1e6, "full": full, "ours": ours}


def results(quick: bool) -> list[dict[str, Any]]:
    rows = []
    for fmt in formats():
        m = measure(fmt, QUICK_MIB if quick else FULL_MIB, check=quick)
        if m.get("missing"):
            rows.append(row(f"3 --since 1d, {fmt.name}", "no generator", "-", None, "", None))
            continue
        ratio = m["ours"] / m["full"]
        rows.append(
            row(
                f"3 --since 1d, {m['name']} ({m['mb']:.0f} MB)",
                f"{m['ours'] * 1000:.1f} ms",
                f"full read {m['full'] * 1000:.0f} ms",
                ratio,
                f"<= {TARGET:.0%}",
                ratio <= TARGET,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=FULL_MIB, help="log size in MiB")
    parser.add_argument("--quick", action="store_true", help="small logs, checked by a scan")
    args = parser.parse_args()
    if args.quick:
        print_rows(results(True))
        return
    for fmt in formats():
        m = measure(fmt, args.size, check=False)
        if m.get("missing"):
            print(f"{fmt.name}: no generator in bench/logwindow.py")
            continue
        print(
            f"{m['name']:<22}{m['mb']:>8.0f} MB  full read {m['full']:.3f} s  "
            f"window {m['ours'] * 1000:.1f} ms  = {m['ours'] / m['full']:.2%}"
        )


if __name__ == "__main__":
    main()
