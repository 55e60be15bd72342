"""Measure 1, archive throughput: a db2diag-style corpus plus small config files,
bundled by pa-collect's pipeline against `7zz a -mx1 -mmt2` on the same files.

pa-collect's path is the one every collected item takes: the runner reads each
file through the redactor and hashes it; the log goes straight into the bundle
as it is redacted (collector.pack.Packer.stream), the small files through
staging (Packer.item), each self-checked; LZMA2 is compressed in parallel
blocks. The result must pass `7zz t`.
Target: at least 0.6x 7-Zip's speed, an archive at most 1.1x its size.

    python bench/bundle.py [--size 400] [--configs 2000] [--level 1] [--jobs 2]
                           [--threads N] [--workdir /tmp/pa-bench]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from collector.plugins.db2_parse import Db2DiagFormat
from common import (
    WORKDIR,
    MiB,
    corpus_configs,
    corpus_log,
    print_rows,
    row,
    run_quiet,
    seven_zip,
    timed,
)

from collector import archive, lzma2
from collector.archive import BundleWriter
from collector.host import Host
from collector.pack import Packer
from collector.plan import plan_plugin
from collector.plugin import Applicability, Context, Plugin
from collector.redact import BASELINE_RULES
from collector.runner import Limits, Runner
from collector.spec import GlobSpec, LogSpec, Spec

FULL = {"size": 400, "configs": 2000}
QUICK = {"size": 20, "configs": 200}


class Corpus(Plugin):
    """The corpus as a plugin would declare it: one log, four config folders."""

    name = "bench"
    always = True

    def specs(self, ctx: Context) -> Iterator[Spec]:
        yield LogSpec(name="db2diag", pattern="/log/db2diag.log", format=Db2DiagFormat())
        yield GlobSpec(name="configs", pattern="/configs/*/*/*")


def pa_collect_bundle(root: Path, out: Path, level: int, jobs: int, threads: int | None) -> None:
    """Collect and pack the corpus under `root` as collect() does."""
    host = Host(sysroot=root, env={"PATH": "/usr/bin:/bin"})
    plan = plan_plugin(Corpus(), Applicability(True, "bench"), Context(host=host))
    limits = Limits(max_file_size=1 << 40, max_total_size=1 << 40, jobs=jobs)
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        staging = Path(scratch)
        with BundleWriter(out, level=level, threads=threads) as writer:
            packer = Packer(writer, staging, BASELINE_RULES)
            Runner(
                host,
                staging,
                limits,
                BASELINE_RULES,
                on_item=packer.item,
                on_stream=packer.stream,
            ).run([plan])
            writer.drain()
            writer.finish(b"{}")


def corpus_root(workdir: Path, size_mib: int, configs: int) -> Path:
    """A sysroot holding the cached log and config folders (symlinked)."""
    log = corpus_log(workdir, size_mib * MiB)
    folder = corpus_configs(workdir, configs)
    root = workdir / f"root-{size_mib}M-{configs}"
    root.mkdir(parents=True, exist_ok=True)
    for name, target in (("log", log.parent), ("configs", folder)):
        link = root / name
        if not link.is_symlink():
            link.symlink_to(target)
    return root


def measure(
    size_mib: int, configs: int, level: int = 1, jobs: int = 2, threads: int | None = None
) -> dict[str, Any]:
    root = corpus_root(WORKDIR, size_mib, configs)
    inputs = [str(root / "log" / "db2diag.log"), str(root / "configs") + "/"]
    size = sum(p.stat().st_size for p in (root / "configs").rglob("*") if p.is_file())
    size += (root / "log" / "db2diag.log").stat().st_size
    with tempfile.TemporaryDirectory(dir=WORKDIR) as scratch:
        work = Path(scratch)
        theirs = work / "7zz.7z"
        base = timed(lambda: run_quiet([seven_zip(), "a", "-mx1", "-mmt2", str(theirs), *inputs]))
        ours = work / "pa-collect.7z"
        seconds = timed(lambda: pa_collect_bundle(root, ours, level, jobs, threads))
        run_quiet([seven_zip(), "t", str(ours)])  # stock 7-Zip must read what we wrote
        return {
            "mb": size / 1e6,
            "ours_s": seconds,
            "base_s": base,
            "ours_size": ours.stat().st_size,
            "base_size": theirs.stat().st_size,
        }


def results(quick: bool) -> list[dict[str, Any]]:
    sizes = QUICK if quick else FULL
    m = measure(sizes["size"], sizes["configs"])
    speed = m["base_s"] / m["ours_s"]
    ratio = m["ours_size"] / m["base_size"]
    corpus = f"{m['mb']:.0f} MB, {sizes['configs']} configs"
    return [
        row(
            f"1 throughput ({corpus})",
            f"{m['ours_s']:.1f} s ({m['mb'] / m['ours_s']:.0f} MB/s)",
            f"7zz -mx1 -mmt2 {m['base_s']:.1f} s",
            speed,
            "speed >= 0.6x",
            speed >= 0.6,
        ),
        row(
            "1 archive size",
            f"{m['ours_size'] / 1e6:.1f} MB",
            f"{m['base_size'] / 1e6:.1f} MB",
            ratio,
            "<= 1.1x",
            ratio <= 1.1,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=FULL["size"], help="log size in MiB")
    parser.add_argument("--configs", type=int, default=FULL["configs"])
    parser.add_argument("--level", type=int, default=1, help="pa-collect --level")
    parser.add_argument("--jobs", type=int, default=2, help="pa-collect --jobs")
    parser.add_argument("--threads", type=int, default=None, help="compression threads")
    parser.add_argument("--block", type=int, default=None, help="LZMA2 block size in MiB")
    parser.add_argument("--quick", action="store_true", help="the small sizes of bench/run")
    args = parser.parse_args()
    if args.block:
        lzma2.BLOCK_SIZE = args.block * MiB
    if args.quick:
        print_rows(results(True))
        return
    m = measure(args.size, args.configs, args.level, args.jobs, args.threads)
    print(
        f"corpus {m['mb']:.0f} MB (+{args.configs} configs); level {args.level}, "
        f"jobs {args.jobs}, threads {args.threads or archive.compression_threads()}"
    )
    for name, seconds, size in (
        ("7zz a -mx1 -mmt2", m["base_s"], m["base_size"]),
        ("pa-collect", m["ours_s"], m["ours_size"]),
    ):
        print(f"{name:<20}{seconds:>8.2f} s{m['mb'] / seconds:>8.1f} MB/s{size / 1e6:>9.2f} MB")
    print(
        f"speed vs 7zz: {m['base_s'] / m['ours_s']:.2f}x; "
        f"size vs 7zz: {m['ours_size'] / m['base_size']:.3f}x"
    )


if __name__ == "__main__":
    main()
