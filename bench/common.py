"""Shared helpers for the benchmarks: a cached corpus and a stopwatch.

Benchmarks print ratios against a baseline measured in the same run, never
absolute targets: the machine's speed varies, the ratio much less.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from corpus import generate_db2diag

MiB = 1024 * 1024


def corpus_log(workdir: Path, size: int, seed: int = 1) -> Path:
    """A generated db2diag.log of `size` bytes, reused across runs when present."""
    path = workdir / f"corpus-{size // MiB}M-{seed}" / "db2diag.log"
    if not path.exists() or path.stat().st_size < size:
        path.parent.mkdir(parents=True, exist_ok=True)
        generate_db2diag(path, size, seed=seed)
    return path


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def seven_zip() -> str:
    found = shutil.which("7zz") or shutil.which("7z")
    if found is None:
        raise SystemExit("7-Zip is needed as the baseline: apt-get install 7zip")
    return found


def run_quiet(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
