"""Shared helpers for the benchmarks: cached corpora, a stopwatch, result rows.

Benchmarks print ratios against a baseline measured in the same run, never
absolute targets: the machine's speed varies, the ratio much less. Each bench
module exposes `results(quick: bool) -> list[dict]` (see `row`) for bench/run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus import generate_db2diag, generate_small_configs

MiB = 1024 * 1024
WORKDIR = Path(os.environ.get("PA_BENCH_DIR", Path(tempfile.gettempdir()) / "pa-bench"))


def corpus_log(workdir: Path, size: int, seed: int = 1) -> Path:
    """A generated db2diag.log of `size` bytes, reused across runs when present."""
    path = workdir / f"corpus-{size // MiB}M-{seed}" / "db2diag.log"
    if not path.exists() or path.stat().st_size < size:
        path.parent.mkdir(parents=True, exist_ok=True)
        generate_db2diag(path, size, seed=seed)
    return path


def corpus_configs(workdir: Path, count: int, seed: int = 1) -> Path:
    """`count` small generated config files under one folder, reused when present."""
    folder = workdir / f"configs-{count}-{seed}"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        generate_small_configs(folder, count, seed=seed)
        folder.mkdir(parents=True, exist_ok=True)
        done.touch()
    return folder


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def seven_zip() -> str:
    found = shutil.which("7zz") or shutil.which("7z")
    if found is None:
        raise SystemExit("7-Zip is needed as the baseline: apt-get install 7zip")
    return found


def run_quiet(argv: list[str], **kwargs: Any) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)


def run_measured(argv: list[str], **kwargs: Any) -> tuple[float, float]:
    """Run a command to the end; return (seconds, peak RSS in MB). The peak is
    the process's or any of its children's (Linux ru_maxrss, KiB), from wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {process.returncode}: {errors.decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def row(
    measure: str, ours: str, baseline: str, ratio: float | None, target: str, met: bool | None
) -> dict[str, Any]:
    """One line of bench/run's table. `ratio` is ours / baseline (or as the
    measure defines it); `met` is None when the measure could not be taken."""
    return {
        "measure": measure,
        "ours": ours,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "met": met,
    }


def print_rows(rows: list[dict[str, Any]]) -> None:
    for item in rows:
        ratio = "-" if item["ratio"] is None else f"{item['ratio']:.3g}"
        met = {True: "yes", False: "NO", None: "n/a"}[item["met"]]
        print(
            f"{item['measure']}: ours {item['ours']}; baseline {item['baseline']}; "
            f"ratio {ratio} (target {item['target']}): {met}"
        )


REPO = Path(__file__).resolve().parent.parent
CUSTOMER = ["--customer-number", "1234567", "--contract-number", "PA-000000"]
DIAG_FOLDER = "home/db2inst1/sqllib/db2dump"


def pa_collect() -> str:
    found = shutil.which("pa-collect")
    if found is None:
        raise SystemExit("pa-collect is not installed: pip install -e .")
    return found


def fake_db2_host(work: Path, log: Path) -> tuple[Path, dict[str, str], Path]:
    """The tests' fake Db2 host (tests/data/os + db2 trees) under `work`, with
    `log` as its db2diag.log (hard-linked, not copied). Returns the sysroot,
    the environment to run pa-collect in, and an empty output folder."""
    data = REPO / "tests" / "data"
    sysroot, fake_bin, home, out = (work / n for n in ("sysroot", "bin", "home", "out"))
    for product in ("os", "db2"):
        shutil.copytree(data / product / "sysroot", sysroot, symlinks=True, dirs_exist_ok=True)
        shutil.copytree(data / product / "bin", fake_bin, dirs_exist_ok=True)
    # Where DIAGPATH points, and the instance default that is read when the
    # instance's commands cannot run (as root without the instance user).
    for name in (f"{DIAG_FOLDER}/DIAG0000/db2diag.log", f"{DIAG_FOLDER}/db2diag.log"):
        target = sysroot / name
        target.unlink(missing_ok=True)
        try:
            os.link(log, target)
        except OSError:
            shutil.copyfile(log, target)
    home.mkdir()
    out.mkdir()
    env = {"PATH": str(fake_bin), "HOME": str(home), "LANG": "C.UTF-8"}
    return sysroot, env, out


def collect_db2(sysroot: Path, out: Path, *extra: str) -> list[str]:
    """The argv of a whole Db2 collection on a fake host, logs uncapped."""
    return [
        pa_collect(), "--product", "db2", "--batch", "--since", "all",
        "--max-file-size", "8G", "--max-total-size", "16G",
        "--sysroot", str(sysroot), "--output", str(out), *CUSTOMER, *extra,
    ]  # fmt: skip
