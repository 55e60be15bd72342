"""Measure 5, end to end against the peer: `pa-collect --product os` (with the
always-on network plugin) against `sos report --batch` restricted to the sos
plugins that collect the same things, on this machine: wall time and archive size.

The sos plugin set mirrors what our os and network plugins read: release
(os-release), kernel (uname, sysctl -a), memory and processor (meminfo,
cpuinfo), filesys and block (df, mounts, fstab, lsblk), date (time sync), host
(hostname), process (ps), dpkg (the package list) and networking (ip, ss,
hosts, resolv.conf). Target: faster than sos (time ratio below 1); the size
ratio is reported for information. Needs root (sos refuses otherwise) and
Debian's `sosreport` package.

    python bench/sos.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import CUSTOMER, WORKDIR, pa_collect, print_rows, row, timed

SOS_PLUGINS = "release,kernel,memory,processor,filesys,block,date,host,process,dpkg,networking"


def run_sos(work: Path) -> tuple[float, int]:
    sos = shutil.which("sos")
    if sos is None:
        raise FileNotFoundError("sos is not installed (Debian package sosreport)")
    argv = [sos, "report", "--batch", "--tmp-dir", str(work), "-o", SOS_PLUGINS]
    seconds = timed(lambda: subprocess.run(argv, check=True, capture_output=True))
    (archive,) = [
        p for p in work.iterdir() if p.name.startswith("sosreport") and "md5" not in p.name
    ]
    return seconds, archive.stat().st_size


def run_pa_collect(work: Path) -> tuple[float, int]:
    out, home = work / "out", work / "home"
    out.mkdir()
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    argv = [pa_collect(), "--product", "os", "--batch", "--output", str(out), *CUSTOMER]
    seconds = timed(lambda: subprocess.run(argv, check=True, capture_output=True, env=env))
    (bundle,) = out.glob("*.7z")
    return seconds, bundle.stat().st_size


def measure(runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {"ours": [], "sos": []}
    sizes: dict[str, int] = {}
    for _ in range(runs):
        for name, action in (("sos", run_sos), ("ours", run_pa_collect)):
            with tempfile.TemporaryDirectory(dir=WORKDIR) as scratch:
                seconds, sizes[name] = action(Path(scratch))
                times[name].append(seconds)
    return {
        "ours_s": statistics.median(times["ours"]),
        "sos_s": statistics.median(times["sos"]),
        "ours_size": sizes["ours"],
        "sos_size": sizes["sos"],
    }


def results(quick: bool) -> list[dict[str, Any]]:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    try:
        m = measure(1 if quick else 3)
    except (FileNotFoundError, subprocess.CalledProcessError) as error:
        return [row("5 end to end vs sos report", "-", f"not available: {error}", None, "", None)]
    speed = m["ours_s"] / m["sos_s"]
    return [
        row(
            "5 end to end vs sos report: time",
            f"{m['ours_s']:.1f} s",
            f"sos {m['sos_s']:.1f} s",
            speed,
            "< 1 (faster)",
            speed < 1,
        ),
        row(
            "5 end to end vs sos report: size",
            f"{m['ours_size'] / 1e3:.0f} kB",
            f"sos {m['sos_size'] / 1e3:.0f} kB",
            m["ours_size"] / m["sos_size"],
            "(reported)",
            None,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each instead of three")
    print_rows(results(parser.parse_args().quick))


if __name__ == "__main__":
    main()
