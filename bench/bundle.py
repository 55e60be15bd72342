"""Bundle a generated db2diag-style log corpus, against 7-Zip on the same file.

pa-collect's path is the one every collected file takes: streamed through the
redactor and hashed into staging, then packed by py7zr at the chosen level. The
baseline is `7zz a -mx1` on the original file. Prints both times, MB/s, archive
sizes and the ratios.

    python bench/bundle.py [--size 400] [--level 1] [--workdir /tmp/pa-bench]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import MiB, corpus_log, run_quiet, seven_zip, timed

from collector.archive import write_bundle
from collector.capture import capture_file
from collector.redact import StreamRedactor


def bundle_with_pa_collect(log: Path, work: Path, level: int) -> tuple[float, float, Path]:
    staged = work / "staged.log"
    stage_time = timed(lambda: capture_file(log, staged, log.stat().st_size, StreamRedactor()))
    out = work / "pa-collect.7z"
    pack_time = timed(
        lambda: write_bundle(out, [(staged, "db2/files/db2diag.log")], b"{}", level=level)
    )
    staged.unlink()
    return stage_time, pack_time, out


def bundle_with_7zz(log: Path, work: Path, threads: int) -> tuple[float, Path]:
    out = work / f"7zz-mmt{threads}.7z"
    seconds = timed(
        lambda: run_quiet([seven_zip(), "a", "-mx1", f"-mmt{threads}", str(out), str(log)])
    )
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400, help="corpus size in MiB")
    parser.add_argument("--level", type=int, default=1, help="pa-collect --level")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pa-bench")
    args = parser.parse_args()

    log = corpus_log(args.workdir, args.size * MiB)
    size_mb = log.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
        work = Path(scratch)
        base2, base2_out = bundle_with_7zz(log, work, 2)
        base1, base1_out = bundle_with_7zz(log, work, 1)
        stage, pack, ours = bundle_with_pa_collect(log, work, args.level)
        run_quiet([seven_zip(), "t", str(ours)])  # stock 7-Zip must read what we wrote
        total = stage + pack
        rows = [
            ("7zz a -mx1 -mmt2", base2, base2_out.stat().st_size),
            ("7zz a -mx1 -mmt1", base1, base1_out.stat().st_size),
            (
                f"pa-collect (redact+hash {stage:.1f}s, pack {pack:.1f}s) level {args.level}",
                total,
                ours.stat().st_size,
            ),
        ]
        print(f"corpus: {size_mb:.0f} MB db2diag-style log ({log})")
        print(f"{'method':<58}{'seconds':>9}{'MB/s':>8}{'archive MB':>12}{'ratio':>7}")
        for name, seconds, archive in rows:
            print(
                f"{name:<58}{seconds:>9.1f}{size_mb / seconds:>8.1f}"
                f"{archive / 1e6:>12.1f}{size_mb * 1e6 / archive:>7.2f}"
            )
        print(
            f"speed vs 7zz -mx1 -mmt2: {base2 / total:.2f}x; "
            f"archive size vs 7zz: {ours.stat().st_size / base2_out.stat().st_size:.2f}x"
        )


if __name__ == "__main__":
    main()
