"""`pa-collect snapshot` and `snapshots` end to end on a fake host: the light
profile, the lock, retention, the disk guard, the time budget and priority."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeHost, RunPa, no_traceback, pa_collect_executable

from collector.bundle import open_bundle
from collector.retention import apply_retention, stored_snapshots, to_delete

SNAPSHOT_NAME = re.compile(r"^snapshot\.pa-collect\.os\.dbhost01\.\d{8}T\d{6}Z\.7z$")
SLOW = 6  # seconds a fake command takes, to hold the lock
OS_METRICS = {"release", "kernel", "cpu", "memory", "disk_use", "top_processes", "connections"}


def write_card(home: Path) -> None:
    """The customer card in the fake user's config folder, found through HOME."""
    folder = home / ".config" / "pa-collect"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profile.toml").write_text(
        'customer_number = "1234567"\ncontract_number = "PA-778899"\n'
    )


def snapshot_args(host: FakeHost, product: str, *extra: str) -> list[str]:
    return [
        "snapshot",
        "--product",
        product,
        "--batch",
        "--json",
        "--sysroot",
        str(host.sysroot),
        "--output",
        str(host.out),
        *extra,
    ]


def take(
    host: FakeHost, run_pa: RunPa, *extra: str, product: str = "os"
) -> subprocess.CompletedProcess[str]:
    write_card(host.home)
    return run_pa(*snapshot_args(host, product, *extra), env=host.env())


def outcome(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    assert no_traceback(result)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_snapshot_is_a_valid_light_bundle_with_host_metrics(
    fake_host: FakeHost, run_pa: RunPa
) -> None:
    summary = outcome(take(fake_host, run_pa))
    assert summary["kind"] == "snapshot" and summary["status"] == "ok"
    bundle = Path(summary["bundle"])
    assert bundle.parent == fake_host.out and SNAPSHOT_NAME.match(bundle.name)
    opened = open_bundle(bundle)
    assert opened.verify() == []
    manifest = opened.manifest
    assert manifest["kind"] == "snapshot"
    items = {(i["plugin"], i["name"]): i for i in manifest["items"]}
    # Only the snapshot profile: no /etc files, no package list, nothing from network.
    assert set(items) == {("os", name) for name in OS_METRICS} | {("os", "uname_-a")}
    assert {i["outcome"] for i in items.values()} == {"ok"}
    metrics = {name: _json(opened, items["os", name]["path"]) for name in OS_METRICS}
    assert {"percent", "load_average", "times"} <= set(metrics["cpu"])
    assert {"virtual", "swap"} <= set(metrics["memory"])
    assert all("inodes_used" in d or "error" in d for d in metrics["disk_use"].values())
    assert set(metrics["top_processes"]) == {"by_cpu", "by_memory"}
    assert all(isinstance(n, int) for n in metrics["connections"].values())
    assert manifest["facts"]["os"]["os_name"] == "Red Hat Enterprise Linux"
    assert "network" not in manifest["facts"]
    # The window of the first snapshot in a folder: the day before it.
    since = datetime.fromisoformat(manifest["options"]["since"])
    assert timedelta(hours=23) < datetime.now(UTC) - since < timedelta(hours=25)


def test_snapshots_lists_time_size_and_status(fake_host: FakeHost, run_pa: RunPa) -> None:
    summary = outcome(take(fake_host, run_pa))
    listed = run_pa("snapshots", "--output", str(fake_host.out), "--json", env=fake_host.env())
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["path"] == summary["bundle"] and row["product"] == "os"
    assert row["size"] == summary["size"] and row["status"] == "ok"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["created"])
    text = run_pa("snapshots", "--output", str(fake_host.out), env=fake_host.env())
    assert summary["bundle"] in text.stdout and " ok " in text.stdout


def test_default_folder_is_private_in_the_state_folder(fake_host: FakeHost, run_pa: RunPa) -> None:
    write_card(fake_host.home)
    args = ["snapshot", "--product", "os", "--batch", "--sysroot", str(fake_host.sysroot)]
    result = run_pa(*args, env=fake_host.env())
    assert result.returncode == 0, result.stderr
    folder = fake_host.home / ".local/state/pa-collect/snapshots/os"
    assert folder.stat().st_mode & 0o777 == 0o700
    (bundle,) = folder.glob("*.7z")
    assert str(bundle) in result.stdout and result.stdout.count("\n") == 1  # one line for the log
    listed = run_pa("snapshots", "--product", "os", "--json", env=fake_host.env())
    assert [row["path"] for row in json.loads(listed.stdout)] == [str(bundle)]


def test_without_a_customer_card_the_snapshot_exits_2(fake_host: FakeHost, run_pa: RunPa) -> None:
    result = run_pa(*snapshot_args(fake_host, "os"), env=fake_host.env())
    assert result.returncode == 2
    assert "customer number is missing" in result.stderr and no_traceback(result)
    unknown = take(fake_host, run_pa, product="nosuchproduct")
    assert unknown.returncode == 2 and "unknown product" in unknown.stderr


def test_two_snapshots_started_together_one_exits_5_at_once(fake_host: FakeHost) -> None:
    write_card(fake_host.home)
    fake_host.add_command("uname", f"/bin/sleep {SLOW}; echo Linux")
    args = [pa_collect_executable(), *snapshot_args(fake_host, "os")]
    started = time.monotonic()
    runs = [
        subprocess.Popen(
            args, env=fake_host.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    finished: dict[int, float] = {}
    while len(finished) < len(runs) and time.monotonic() - started < 120:
        for number, run in enumerate(runs):
            if number not in finished and run.poll() is not None:
                finished[number] = time.monotonic() - started
        time.sleep(0.05)
    ended = [(run.returncode, finished[n], *run.communicate()) for n, run in enumerate(runs)]
    assert sorted(code for code, *_ in ended) == [0, 5], ended
    (_, lost_after, lost_out, lost_err) = next(e for e in ended if e[0] == 5)
    (_, won_after, *_) = next(e for e in ended if e[0] == 0)
    # The loser did not wait for the winner's slow command: it ended long before.
    assert lost_after < SLOW < won_after, (lost_after, won_after)
    assert lost_err.count("\n") == 1 and "holds the lock" in lost_err and lost_out == ""
    assert len(list(fake_host.out.glob("*.7z"))) == 1


def test_retention_keeps_the_newest_and_never_touches_foreign_files(
    fake_host: FakeHost, run_pa: RunPa
) -> None:
    foreign = {
        "notes.txt": b"a person's notes",
        # A collection bundle and near misses of the snapshot name: not ours.
        "pa-collect.os.dbhost01.20200101T000000Z.7z": b"a collection",
        "snapshot.pa-collect.os.dbhost01.20200101T000000Z.7z.bak": b"a copy",
        "TS012345678.pa-collect.os.dbhost01.20200101T000000Z.7z": b"a case bundle",
        # Another product's snapshot: its own retention decides.
        "snapshot.pa-collect.db2.dbhost01.20200101T000000Z.7z": b"db2",
    }
    for name, data in foreign.items():
        (fake_host.out / name).write_bytes(data)
    written, deleted = [], []
    for _ in range(4):
        summary = outcome(take(fake_host, run_pa, "--keep", "2"))
        written.append(summary["bundle"])
        deleted += summary["deleted"]
    remaining = sorted(str(p) for p in fake_host.out.glob("snapshot.pa-collect.os.*.7z"))
    assert remaining == written[-2:]
    assert deleted == written[:2]
    for name, data in foreign.items():
        assert (fake_host.out / name).read_bytes() == data


def test_retention_by_size_deletes_oldest_first_and_keeps_the_newest(tmp_path: Path) -> None:
    sizes = [100, 200, 300, 400]
    for number, size in enumerate(sizes):
        name = f"snapshot.pa-collect.db2.host.2026010{number + 1}T000000Z.7z"
        (tmp_path / name).write_bytes(b"x" * size)
    (tmp_path / "snapshot.pa-collect.db2.host.20260101T000000Z.7z.partial").write_bytes(b"x")
    (tmp_path / "linked.7z").symlink_to(tmp_path / "notes")
    found = stored_snapshots(tmp_path, "db2")
    assert [s.size for s in found] == sizes
    assert [s.size for s in to_delete(found, keep=10, max_size=750)] == [100, 200]
    assert [s.size for s in to_delete(found, keep=3, max_size=10_000)] == [100]
    assert [s.size for s in to_delete(found, keep=10, max_size=1)] == [100, 200, 300]
    deleted = apply_retention(tmp_path, "db2", keep=2, max_size=10_000)
    assert [p.name[-19:] for p in deleted] == ["20260101T000000Z.7z", "20260102T000000Z.7z"]
    assert [s.size for s in stored_snapshots(tmp_path, "db2")] == [300, 400]
    assert (tmp_path / "snapshot.pa-collect.db2.host.20260101T000000Z.7z.partial").exists()


def test_disk_guard_skips_the_run_with_a_warning(fake_host: FakeHost, run_pa: RunPa) -> None:
    result = take(fake_host, run_pa, "--min-free", "1000000T")
    summary = outcome(result)
    assert summary == {
        "kind": "snapshot",
        "status": "skipped",
        "reason": summary["reason"],
        "bundle": None,
    }
    assert "below --min-free" in summary["reason"]
    assert "pa-collect: snapshot skipped:" in result.stderr
    assert list(fake_host.out.glob("*.7z")) == []


def test_time_budget_kills_slow_commands_and_the_run_ends_in_time(
    fake_host: FakeHost, run_pa: RunPa
) -> None:
    fake_host.add_command("uname", "/bin/sleep 60")
    started = time.monotonic()
    summary = outcome(take(fake_host, run_pa, "--budget", "4"))
    elapsed = time.monotonic() - started
    assert elapsed < 4 + 4, elapsed  # the budget, plus starting Python and the kill grace
    assert summary["status"] == "partial"
    manifest = open_bundle(summary["bundle"]).manifest
    (uname,) = [i for i in manifest["items"] if i["name"] == "uname_-a"]
    assert uname["outcome"] == "timed_out" and uname["duration_s"] < 4


def test_snapshot_runs_at_low_cpu_and_io_priority(fake_host: FakeHost, run_pa: RunPa) -> None:
    fake_host.add_command("uname", "/usr/bin/nice; /usr/bin/ionice -p $$")
    summary = outcome(take(fake_host, run_pa))
    opened = open_bundle(summary["bundle"])
    (uname,) = [i for i in opened.manifest["items"] if i["name"] == "uname_-a"]
    with opened.read(uname["path"]) as stream:
        assert stream.read().decode().split("\n")[:2] == ["10", "best-effort: prio 7"]


@pytest.mark.parametrize(
    ("product", "expected"),
    [
        ("mq", {"dspmq", "queue_managers"}),
        ("informix", {"installation", "ol_prod_onstat_-", "ol_test_onstat_-"}),
        ("websphere", {"layout"}),
        ("domino", {"layout", "local_notesdata_notes_ini"}),
    ],
)
def test_each_product_takes_part_with_its_quick_status(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, product: str, expected: set[str]
) -> None:
    host = product_host(product)
    summary = outcome(take(host, run_pa, product=product))
    opened = open_bundle(summary["bundle"])
    assert opened.verify() == []
    manifest = opened.manifest
    items = {i["name"]: i for i in manifest["items"] if i["plugin"] == product}
    assert set(items) == expected
    assert {i["outcome"] for i in items.values()} == {"ok"}
    assert product in manifest["facts"] and manifest["warnings"] == []


def _json(opened: Any, path: str) -> Any:
    with opened.read(path) as stream:
        return json.loads(stream.read())
