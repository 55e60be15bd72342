"""Redaction throughput: pa-collect's StreamRedactor against `sos clean`.

Both read the same generated db2diag.log (bench/corpus.py). Ours: one process,
the core table plus the Db2 plugin's rule (what `--product db2` runs), fed in
1 MiB chunks as the capture stage does. sos clean only accepts a sos report
archive, so the corpus is placed inside one made by `sos report -o host`
(unpacked, file added, repacked as .tar.gz) and `sos clean --batch --jobs 1`
runs on it with a fresh mapping file; its wall time covers its own unpack and
repack, as it would for a user. sos clean otherwise reuses and extends
/etc/sos/cleaner/default_mapping across runs; once that map holds one-letter
"host names" (learned from earlier archives), it rewrites its own paths
(sos_commands -> sos_cohost1host1ands) and aborts, so the bench never uses it.
On the db2diag corpus it learns one-letter "host names" even so, cleans
everything, then fails writing its result (it obfuscated its own temp path):
that time is compared, with a note. Any other failure is recorded and the ratio
left out.

    python bench/redact.py [--quick] [--workdir /tmp/pa-bench]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from collector.plugins.db2 import Db2
from common import MiB, corpus_log

from collector.redact import BASELINE_RULES, StreamRedactor

TARGET_MB_S = 50.0
WORKDIR = Path(tempfile.gettempdir()) / "pa-bench"


def ours(log: Path) -> tuple[float, int]:
    """Seconds to redact the whole log, and the number of hits."""
    redactor = StreamRedactor((*BASELINE_RULES, *Db2.redaction_rules))
    started = time.perf_counter()
    with log.open("rb") as stream:
        while chunk := stream.read(MiB):
            redactor.feed(chunk)
    redactor.close()
    return time.perf_counter() - started, redactor.total


def sos_archive(log: Path, folder: Path) -> Path:
    """A sos report archive with the corpus inside, as sos clean expects one."""
    subprocess.run(
        ["sos", "report", "--batch", "-o", "host", "--tmp-dir", str(folder)],
        check=True,
        capture_output=True,
    )
    made = next(folder.glob("sosreport-*.tar.xz"))
    with tarfile.open(made) as archive:
        archive.extractall(folder / "unpacked", filter="tar")
    top = next((folder / "unpacked").iterdir())
    target = top / "var" / "log" / "db2diag.log"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log, target)
    repacked = folder / (top.name + ".tar.gz")
    with tarfile.open(repacked, "w:gz", compresslevel=1) as archive:
        archive.add(top, arcname=top.name)
    made.unlink()
    return repacked


def sos_clean(log: Path) -> dict[str, Any]:
    """Wall time of `sos clean` on an archive holding the log, or how it failed."""
    if shutil.which("sos") is None:
        return {"error": "sos is not installed (Debian package sosreport)"}
    with tempfile.TemporaryDirectory(dir=log.parent) as tmp:
        archive = sos_archive(log, Path(tmp))
        fresh_map = Path(tmp) / "map.json"
        fresh_map.write_text("{}")
        command = ["sos", "clean", "--batch", "--jobs", "1", "--map", str(fresh_map)]
        started = time.perf_counter()
        run = subprocess.run(
            [*command, "--tmp-dir", tmp, str(archive)], capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        cleaned = [p for p in Path(tmp).glob("*obfuscated*") if p.is_file()]
    if run.returncode == 0 and cleaned:
        return {"seconds": seconds}
    last = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:]
    failure = f"exit {run.returncode}: " + " | ".join(line.strip() for line in last)
    if "-obfuscated.tar" in run.stderr + run.stdout:
        # sos 4.0 learns one-letter "host names" from db2diag text, then
        # obfuscates its own temp path (/tmp -> /thost2p) and fails writing the
        # result: the cleaning itself is finished, so its time still compares.
        return {"seconds": seconds, "note": "sos clean cleaned it all, then failed: " + failure}
    return {"error": failure, "seconds": seconds}


def results(quick: bool) -> list[dict[str, Any]]:
    size = (50 if quick else 400) * MiB
    log = corpus_log(WORKDIR, size)
    megabytes = log.stat().st_size / 1e6
    seconds, _hits = ours(log)
    ours_rate = megabytes / seconds
    rows: list[dict[str, Any]] = [
        {
            "measure": f"redaction MB/s, {megabytes:.0f} MB db2diag, one process",
            "ours": round(ours_rate, 1),
            "baseline": None,
            "ratio": None,
            "target": f">= {TARGET_MB_S:g} MB/s",
            "met": ours_rate >= TARGET_MB_S,
        }
    ]
    baseline = sos_clean(log)
    row: dict[str, Any] = {
        "measure": f"redaction MB/s vs sos clean --jobs 1, {megabytes:.0f} MB",
        "ours": round(ours_rate, 1),
        "target": "faster than sos clean",
    }
    if "error" not in baseline:
        sos_rate = megabytes / baseline["seconds"]
        row.update(
            baseline=round(sos_rate, 2),
            ratio=round(ours_rate / sos_rate, 1),
            met=ours_rate > sos_rate,
        )
        if "note" in baseline:
            row["note"] = baseline["note"]
    else:
        row.update(baseline=None, ratio=None, met=None, note="sos clean: " + baseline["error"])
    rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 MB instead of 400 MB")
    args = parser.parse_args()
    for row in results(args.quick):
        print(row)


if __name__ == "__main__":
    main()
