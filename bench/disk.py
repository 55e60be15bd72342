"""Measure 4, disk: peak extra disk use of a whole `pa-collect --product db2`
collection (fake Db2 host, db2diag.log of 1 GiB; quick: 64 MiB, collected whole)
against the final bundle plus the largest single item.

The output folder holds everything pa-collect writes (the staging folder and the
partial bundle live beside the bundle); a thread adds up its allocated blocks
every few milliseconds while the collection runs. Target: the peak is at most
the bundle plus the largest item, i.e. no second full copy of the data.

    python bench/disk.py [--size 1024] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import WORKDIR, MiB, collect_db2, corpus_log, fake_db2_host, print_rows, row

from collector.bundle import open_bundle

FULL_MIB, QUICK_MIB = 1024, 64
POLL = 0.005


def allocated(folder: Path) -> int:
    """Bytes allocated to the files under `folder` (what du counts)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # removed while we looked
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


class PeakWatcher(threading.Thread):
    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(POLL):
            self.peak = max(self.peak, allocated(self.folder))


def measure(log_mib: int) -> dict[str, Any]:
    log = corpus_log(WORKDIR, log_mib * MiB)
    with tempfile.TemporaryDirectory(dir=WORKDIR) as scratch:
        sysroot, env, out = fake_db2_host(Path(scratch), log)
        watcher = PeakWatcher(out)
        watcher.start()
        done = subprocess.run(
            [*collect_db2(sysroot, out), "--json"], env=env, capture_output=True, text=True
        )
        watcher.stop.set()
        watcher.join()
        if done.returncode != 0:
            raise RuntimeError(f"pa-collect exited {done.returncode}: {done.stderr[-500:]}")
        bundle = Path(json.loads(done.stdout)["bundle"])
        with open_bundle(bundle) as opened:
            largest = max(item.get("size") or 0 for item in opened.manifest["items"])
        return {"peak": watcher.peak, "bundle": bundle.stat().st_size, "largest": largest}


def results(quick: bool) -> list[dict[str, Any]]:
    size = QUICK_MIB if quick else FULL_MIB
    m = measure(size)
    allowed = m["bundle"] + m["largest"]
    ratio = m["peak"] / allowed
    return [
        row(
            f"4 peak extra disk, {size} MiB db2diag.log",
            f"{m['peak'] / 1e6:.0f} MB",
            f"bundle {m['bundle'] / 1e6:.0f} + largest item {m['largest'] / 1e6:.0f} MB",
            ratio,
            "<= 1",
            ratio <= 1,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print_rows(results(parser.parse_args().quick))


if __name__ == "__main__":
    main()
