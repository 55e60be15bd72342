"""`--since` on a large db2diag.log: bisection against a full scan.

Generates a db2diag.log covering a year (default 1 GiB), then times three ways
of finding the records of the last day: a plain sequential read of the file
(the I/O floor of any full scan), a record-by-record linear scan (what a naive
collector does), and pa-collect's bisection (logwindow.window_start) followed by
copying the window. Prints the times and the ratios.

    python bench/logwindow.py [--size 1024] [--since-days 1] [--workdir /tmp/pa-bench]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collector.plugins.db2_parse import Db2DiagFormat
from common import MiB, corpus_log, timed

from collector.logwindow import iter_records, window_start

CORPUS_START = datetime(2025, 1, 1, tzinfo=UTC)  # bench/corpus.py's default start
CORPUS_SPAN = timedelta(days=365)


def sequential_read(log: Path) -> int:
    total = 0
    with log.open("rb") as stream:
        while chunk := stream.read(8 * MiB):
            total += len(chunk)
    return total


def linear_scan(log: Path, since: datetime) -> int:
    with log.open("rb") as stream:
        for record in iter_records(stream, Db2DiagFormat()):
            if record.timestamp is not None and record.timestamp >= since:
                return record.offset
    return log.stat().st_size


def bisect_and_copy(log: Path, since: datetime) -> tuple[int, int]:
    size = log.stat().st_size
    with log.open("rb") as stream:
        start = window_start(stream, size, Db2DiagFormat(), since)
        stream.seek(start)
        copied = 0
        while chunk := stream.read(MiB):
            copied += len(chunk)
    return start, copied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="log size in MiB")
    parser.add_argument("--since-days", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pa-bench")
    args = parser.parse_args()

    log = corpus_log(args.workdir, args.size * MiB)
    since = CORPUS_START + CORPUS_SPAN - timedelta(days=args.since_days)
    found: dict[str, int] = {}
    read_time = timed(lambda: found.update(read=sequential_read(log)))
    scan_time = timed(lambda: found.update(scan=linear_scan(log, since)))
    window_time = timed(
        lambda: found.update(zip(("start", "copied"), bisect_and_copy(log, since), strict=True))
    )
    assert found["start"] == found["scan"], "bisection and linear scan disagree"
    size_mb = log.stat().st_size / 1e6
    print(
        f"log: {size_mb:.0f} MB, one year of records; window: last {args.since_days:g} day(s), "
        f"{found['copied'] / 1e6:.1f} MB from offset {found['start']}"
    )
    print(f"{'method':<40}{'seconds':>9}{'vs read':>9}")
    for name, seconds in (
        ("sequential read of the whole file", read_time),
        ("linear record scan to the window", scan_time),
        ("bisection + copy of the window", window_time),
    ):
        print(f"{name:<40}{seconds:>9.3f}{seconds / read_time:>9.3f}")
    print(
        f"window cost vs full read: {window_time / read_time:.2%}; "
        f"vs linear scan: {window_time / scan_time:.2%}"
    )


if __name__ == "__main__":
    main()
