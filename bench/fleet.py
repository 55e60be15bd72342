"""Fleet collection: the Ansible play over three hosts against the same play
over one host (target: at most 1.5x the one host's time).

The hosts are the tests' (tests/fleet_hosts.py): a network namespace, hostname
and OpenSSH server each, on this machine; needs root. pa-collect is installed on
them by a first, untimed run, so the timed runs are what an engineer waits for
on a second case: collect on every host at once, fetch, summarise.
Full: `--product db2` on a fake Db2 host per host with a generated db2diag.log
of 64 MiB (the run does real work); quick: `--product os` on the host itself.

All hosts share this machine's cores (the real ones would not), so the ratio
here is an upper bound of a real fleet's. Quick mode measures the play's own
parallelism (Ansible's work dominates); in full mode three CPU-bound collections
(compression) share the cores one host's collection had to itself, so on a
2-core machine the ratio cannot fall below about 1.5 whatever the play does.

    python bench/fleet.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import WORKDIR, MiB, corpus_log, fake_db2_host, print_rows, row
from fleet_hosts import (
    Fleet,
    build_wheelhouse,
    playbook_variables,
    run_playbook,
    start_fleet,
    stop_fleet,
)

HOSTS = ["bench-h1", "bench-h2", "bench-h3"]
TARGET = 1.5
LOG_MIB = 64


def product_vars(fleet: Fleet, quick: bool) -> dict[str, dict[str, object]]:
    """Per host: nothing for `os` on the host itself; else its own fake Db2 tree."""
    if quick:
        return {}
    log = corpus_log(WORKDIR, LOG_MIB * MiB)
    extra: dict[str, dict[str, object]] = {}
    for host in fleet.hosts:
        sysroot, env, _ = fake_db2_host(fleet.root / "trees" / host.name, log)
        (sysroot / "etc" / "hostname").write_text(host.name + "\n")
        extra[host.name] = {
            "pa_collect_extra_args": ["--sysroot", str(sysroot), "--since", "all"],
            # The fake Db2 commands first; the OS's own after them.
            "pa_collect_run_environment": {"PATH": env["PATH"] + ":/usr/sbin:/usr/bin:/sbin:/bin"},
        }
    return extra


def timed_run(fleet: Fleet, count: int, extra: dict[str, Any], variables: dict[str, Any]) -> float:
    """Seconds of one playbook run over the first `count` hosts."""
    name = f"run-{count}-{time.monotonic_ns()}"
    inventory = fleet.write_inventory(fleet.root / f"{name}.yml", fleet.hosts[:count], extra)
    variables = {**variables, "pa_collect_results": str(fleet.root / name)}
    started = time.perf_counter()
    result = run_playbook(fleet, inventory, variables, timeout=1800)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"the play failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return elapsed


def results(quick: bool) -> list[dict[str, Any]]:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="fleet-", dir=WORKDIR))
    fleet = start_fleet(scratch / "fleet", HOSTS)
    try:
        variables = playbook_variables(
            scratch / "unused", build_wheelhouse(scratch / "wheelhouse"),
            pa_collect_product="os" if quick else "db2",
        )  # fmt: skip
        extra = product_vars(fleet, quick)
        timed_run(fleet, len(HOSTS), extra, variables)  # installs pa-collect everywhere
        rounds = 1 if quick else 2
        one = min(timed_run(fleet, 1, extra, variables) for _ in range(rounds))
        three = min(timed_run(fleet, len(HOSTS), extra, variables) for _ in range(rounds))
    finally:
        stop_fleet(fleet)
        shutil.rmtree(scratch, ignore_errors=True)
    ratio = three / one
    what = "os" if quick else f"db2, {LOG_MIB} MiB db2diag.log"
    return [
        row(
            f"fleet: 3 hosts vs 1 host ({what}; shared cores)",
            f"{three:.1f} s",
            f"{one:.1f} s",
            ratio,
            f"<= {TARGET}",
            ratio <= TARGET,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="--product os, one round")
    print_rows(results(parser.parse_args().quick))


if __name__ == "__main__":
    main()
