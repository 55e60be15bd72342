"""Measure 2, memory: peak RSS of a whole `pa-collect --product db2` collection
on a fake Db2 host (the tests' trees) whose db2diag.log is ~100 MB, 1 GB and
4 GB (quick: 8, 32 and 64 MB), collected whole (`--since all`, no size cap).
Targets: at most 150 MB, and the largest log's peak within 10% of the smallest's.

    python bench/memory.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import (
    WORKDIR,
    MiB,
    collect_db2,
    corpus_log,
    fake_db2_host,
    print_rows,
    row,
    run_measured,
)

FULL_MIB, QUICK_MIB = (100, 1024, 4096), (8, 32, 64)
LIMIT_MB = 150
GROWTH = 1.10


def peak_rss(log_mib: int) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one collection with a log of `log_mib` MiB."""
    log = corpus_log(WORKDIR, log_mib * MiB)
    with tempfile.TemporaryDirectory(dir=WORKDIR) as scratch:
        sysroot, env, out = fake_db2_host(Path(scratch), log)
        return run_measured(collect_db2(sysroot, out), env=env)


def results(quick: bool) -> list[dict[str, Any]]:
    sizes = QUICK_MIB if quick else FULL_MIB
    peaks = {size: peak_rss(size) for size in sizes}
    small, large = peaks[sizes[0]][1], peaks[sizes[-1]][1]
    rows = [
        row(
            f"2 peak RSS, db2diag.log {size} MiB",
            f"{rss:.0f} MB ({seconds:.0f} s)",
            f"{LIMIT_MB} MB",
            rss / LIMIT_MB,
            "<= 1",
            rss <= LIMIT_MB,
        )
        for size, (seconds, rss) in peaks.items()
    ]
    growth = large / small
    rows.append(
        row(
            f"2 peak RSS growth, {sizes[-1]} vs {sizes[0]} MiB log",
            f"{large:.0f} MB",
            f"{small:.0f} MB",
            growth,
            f"<= {GROWTH}",
            growth <= GROWTH,
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print_rows(results(parser.parse_args().quick))


if __name__ == "__main__":
    main()
