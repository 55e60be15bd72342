"""Streaming into the bundle: the mechanisms, observed through the writer.

The runner hands each finished item to the bundle writer (collector.pack
Packer.item), large ones while they are written (Packer.stream); a log's staged copy goes
once packed; staged data in flight is bounded by the writer's queue. These tests
watch the real writer and runner, never the clock.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CUSTOMER,
    FakeHost,
    RunPa,
    extract,
    only_bundle,
    pa_collect_executable,
    seven_zip,
)

from collector import runner as runner_module
from collector.archive import BundleWriter, _Entry
from collector.capture import capture_stream
from collector.collect import space_needed
from collector.host import Host
from collector.logwindow import LogFormat
from collector.pack import Packer
from collector.plan import Item, PluginPlan, plan_plugin
from collector.plugin import Applicability, Context, Plugin
from collector.redact import BASELINE_RULES, StreamRedactor
from collector.runner import FAILED, OK, Limits, PluginRun, Runner
from collector.spec import GlobSpec, LogSpec, Spec

KiB = 1024
LOG_SIZE = 200 * KiB
LOGS = 12
QUEUE = 300 * KiB


class Apps(Plugin):
    """Twelve logs and a few small config files."""

    name = "apps"
    always = True

    def specs(self, ctx: Context) -> Iterator[Spec]:
        yield LogSpec(name="app", pattern="/var/log/app/*.log", format=LogFormat())
        yield GlobSpec(name="conf", pattern="/etc/app/*.conf")


class Watched(BundleWriter):
    """The real writer, noting after each packed item what staging holds."""

    def __init__(self, destination: Path, staging: Path, **options: Any) -> None:
        super().__init__(destination, **options)
        self.staging = staging
        self.seen: list[tuple[str, bool, int]] = []  # name, staged copy left, staged bytes

    def _pack(self, item: _Entry) -> None:
        super()._pack(item)
        staged = sum(p.stat().st_size for p in self.staging.rglob("*") if p.is_file())
        left = item.staged is not None and item.staged.exists()
        self.seen.append((item.name, left, staged))


@pytest.fixture
def apps_host(tmp_path: Path) -> Host:
    logs = tmp_path / "root/var/log/app"
    logs.mkdir(parents=True)
    for n in range(LOGS):
        lines = [f"app{n} line {i} password=hunter{i}\n".encode() for i in range(LOG_SIZE // 30)]
        (logs / f"app{n:02d}.log").write_bytes(b"".join(lines)[:LOG_SIZE])
    conf = tmp_path / "root/etc/app"
    conf.mkdir(parents=True)
    for n in range(3):
        (conf / f"c{n}.conf").write_text(f"name = c{n}\nsecret = s{n}\n")
    return Host(sysroot=tmp_path / "root", env={"PATH": "/usr/bin:/bin"})


def collect_apps(host: Host, tmp_path: Path) -> tuple[Watched, list[PluginRun], list[str]]:
    """What collect() does, with the writer watched; returns the writer, the
    runs, and the names packed by the time the runner returned."""
    staging = tmp_path / "staging"
    staging.mkdir()
    plan = plan_plugin(Apps(), Applicability(True, "test"), Context(host=host))
    with Watched(tmp_path / "b.7z", staging, threads=2, queue_limit=QUEUE) as writer:
        packer = Packer(writer, staging, BASELINE_RULES)
        runner = Runner(
            host,
            staging,
            Limits(jobs=2),
            BASELINE_RULES,
            on_item=packer.item,
            on_stream=packer.stream,
        )
        runs = runner.run([plan])
        packed_when_run_ended = list(writer.packed)
        writer.drain()
        writer.finish(b"{}")
    return writer, runs, packed_when_run_ended


def test_logs_are_packed_during_the_run_and_their_staged_copies_go_at_once(
    apps_host: Host, tmp_path: Path
) -> None:
    writer, runs, packed_early = collect_apps(apps_host, tmp_path)
    logs = [r.bundle_path for r in runs[0].results if r.kind == "log"]
    assert len(logs) == LOGS
    # The queue holds at most QUEUE bytes: most logs were packed before the
    # runner finished, which is what lets their staged copies go.
    assert len([name for name in packed_early if name in logs]) >= LOGS - 4
    for name, staged_left, _ in writer.seen:
        assert staged_left == (name not in logs), name  # configs stay for facts()


def test_staged_bytes_stay_bounded_by_the_queue_not_the_collection(
    apps_host: Host, tmp_path: Path
) -> None:
    writer, runs, _ = collect_apps(apps_host, tmp_path)
    collected = sum(r.captured.size for r in runs[0].results if r.captured)
    peak_staged = max(staged for _, _, staged in writer.seen)
    # Waiting for the writer + one item per job being captured + small configs.
    bound = QUEUE + 2 * LOG_SIZE + 4 * KiB
    assert peak_staged <= bound < collected / 2
    assert writer.peak_queued <= QUEUE + 2 * LOG_SIZE


def test_large_logs_stream_into_the_bundle_unstaged_and_arrive_whole(
    apps_host: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "STREAM_MIN", 100 * KiB)
    writer, runs, _ = collect_apps(apps_host, tmp_path)
    results = {r.bundle_path: r for r in runs[0].results if r.bundle_path}
    logs = sorted(name for name, r in results.items() if r.kind == "log")
    assert sorted(writer.streamed) == logs  # the large logs, and only those
    # Never on disk: staging only ever held the small config files.
    assert max(staged for _, _, staged in writer.seen) < 200
    unpacked = seven_zip("x", "-y", f"-o{tmp_path / 'x'}", str(tmp_path / "b.7z"))
    assert unpacked.returncode == 0, unpacked.stdout
    for name, result in results.items():
        data = (tmp_path / "x" / name).read_bytes()
        assert result.captured is not None
        assert hashlib.sha256(data).hexdigest() == result.captured.sha256, name
        assert b"hunter" not in data  # redacted before it reached the writer


class FailingSource(io.BytesIO):
    """A source whose device fails after the first chunk (EIO mid-file)."""

    def __init__(self, data: bytes, good: int) -> None:
        super().__init__(data)
        self._good = good

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self._good:
            raise OSError(errno.EIO, "Input/output error")
        return super().read(size)


def test_read_error_keeps_what_was_read_and_says_so(tmp_path: Path) -> None:
    data = b"line\n" * 300_000
    captured = capture_stream(
        FailingSource(data, 1024 * 1024), len(data), tmp_path / "t", len(data), StreamRedactor()
    )
    assert captured.error == "Input/output error"
    assert captured.size == 1024 * 1024
    assert (tmp_path / "t").read_bytes() == data[: 1024 * 1024]
    assert runner_module._captured(_item(), captured).outcome == FAILED
    assert runner_module._captured(_item(), captured).bundle_path == "apps/files/x"


def _item(kind: str = "log", estimate: int = 0) -> Item:
    spec = LogSpec(name="x", pattern="/x", format=LogFormat())
    return Item("apps", spec, kind, "/x", "apps/files/x", estimate)


def test_space_needed_counts_logs_in_flight_not_all_logs() -> None:
    limits = Limits(max_file_size=10 * 2**20, jobs=2)
    plan = PluginPlan(Apps(), Applicability(True, "test"))
    plan.items = [_item("log", 10 * 2**20) for _ in range(100)] + [_item("file", 2**20)]
    needed = space_needed([plan], limits)
    collected = 1001 * 2**20
    # The bundle, the kept file, and the logs in flight: not two full copies.
    assert collected + 2**20 < needed < collected + 200 * 2**20


def test_large_db2diag_streams_through_a_real_collection(
    product_host: Any, run_pa: RunPa, tmp_path: Path
) -> None:
    """`pa-collect --product db2` with a db2diag.log larger than STREAM_MIN:
    the bundle verifies, and the log in it is the manifest's, byte for byte."""
    host: FakeHost = product_host("db2")
    dump = host.sysroot / "home/db2inst1/sqllib/db2dump"
    record = (dump / "DIAG0000/db2diag.log").read_bytes()
    # Where DIAGPATH points, and the instance default (used when the instance's
    # commands cannot run, e.g. as root without the instance user).
    for diag in (dump / "DIAG0000/db2diag.log", dump / "db2diag.log"):
        with diag.open("ab") as out:
            while out.tell() < runner_module.STREAM_MIN + 2**20:
                out.write(record)
    result = run_pa(
        "--product", "db2", "--batch", "--json", "--since", "all",
        "--sysroot", str(host.sysroot), "--output", str(host.out), *CUSTOMER,
        env=host.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    bundle = only_bundle(host.out)
    manifest = extract(bundle, tmp_path / "x")
    large = [i for i in manifest["items"] if i.get("size", 0) > runner_module.STREAM_MIN]
    assert [i["source"].rsplit("/", 1)[-1] for i in large] == ["db2diag.log"]
    (item,) = large
    assert item["outcome"] == OK
    data = (tmp_path / "x" / item["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == item["sha256"]
    verified = run_pa("verify", str(bundle), env=host.env())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(result.stdout)["bundle"] == str(bundle)
    assert not list(host.out.glob(".pa-collect-staging-*"))


def test_seven_zip_lists_the_manifest_last(fake_host: FakeHost, run_pa: RunPa) -> None:
    result = run_pa(
        "--product", "os", "--batch", "--sysroot", str(fake_host.sysroot),
        "--output", str(fake_host.out), *CUSTOMER, env=fake_host.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    listing = seven_zip("l", "-slt", str(only_bundle(fake_host.out)))
    paths = [line[7:] for line in listing.stdout.splitlines() if line.startswith("Path = ")]
    assert paths[-1] == "manifest.json"


def test_stop_ends_a_capture_at_the_next_chunk(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    data = b"line\n" * 600_000  # three chunks
    captured = capture_stream(
        io.BytesIO(data), len(data), tmp_path / "t", len(data), StreamRedactor(), stop=stop
    )
    assert captured.error == "interrupted"
    assert captured.size == 1024 * 1024  # the chunk in hand, then no more


def test_interrupt_while_a_large_log_streams_leaves_nothing(product_host: Any) -> None:
    """Ctrl-C while the bundle is being written from a streamed log: exit 130,
    one line, no bundle, no partial file, no staging folder."""
    host: FakeHost = product_host("db2")
    dump = host.sysroot / "home/db2inst1/sqllib/db2dump"
    record = (dump / "DIAG0000/db2diag.log").read_bytes()
    for diag in (dump / "DIAG0000/db2diag.log", dump / "db2diag.log"):
        with diag.open("ab") as out:
            while out.tell() < 160 * 2**20:  # records with random dumps: they fill the bundle
                out.write(record + os.urandom(32 * 1024).hex().encode() + b"\n")
    process = subprocess.Popen(
        [
            pa_collect_executable(), "--product", "db2", "--batch", "--since", "all",
            "--max-file-size", "1G", "--sysroot", str(host.sysroot),
            "--output", str(host.out), *CUSTOMER,
        ],
        env=host.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    while process.poll() is None and not any(
        p.stat().st_size > 2**20 for p in host.out.glob(".*.partial")
    ):
        time.sleep(0.02)  # until the bundle is being written
    if process.poll() is not None:
        process.communicate()
        pytest.fail("the collection ended before it could be interrupted")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert list(host.out.iterdir()) == []
