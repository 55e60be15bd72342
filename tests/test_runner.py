"""The runner: budgets, caps and outcomes, driven directly with tiny plugins."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from collector.archive import check_free_space
from collector.errors import NoBundle
from collector.host import Host
from collector.plan import plan_plugin
from collector.plugin import Applicability, Context, Plugin
from collector.redact import BASELINE_RULES
from collector.runner import Limits, PluginRun, Runner
from collector.spec import CommandSpec, FactSpec, Spec


def host_with(tmp_path: Path, commands: dict[str, str]) -> Host:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in commands.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + script + "\n")
        path.chmod(0o755)
    return Host(sysroot=tmp_path, env={"PATH": str(bin_dir), "HOME": str(tmp_path)})


def run(plugin: Plugin, host: Host, tmp_path: Path, limits: Limits | None = None) -> PluginRun:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    plan = plan_plugin(plugin, Applicability(True, "test"), Context(host=host))
    return Runner(host, staging, limits or Limits(), BASELINE_RULES).run([plan])[0]


class Slow(Plugin):
    name = "slow"
    budget = 1.5

    def specs(self, ctx: Context) -> list[Spec]:
        return [CommandSpec(name=f"nap{i}", argv=("nap",), timeout=60) for i in range(4)]


def test_plugin_budget_bounds_the_whole_plugin(tmp_path: Path) -> None:
    host = host_with(tmp_path, {"nap": "exec /bin/sleep 30"})
    started = time.monotonic()
    result = run(Slow(), host, tmp_path, Limits(jobs=2))
    elapsed = time.monotonic() - started
    outcomes = sorted(r.outcome for r in result.results)
    assert outcomes == ["timed_out"] * 4
    reasons = {r.reason for r in result.results}
    assert "plugin time budget exhausted before it started" in reasons
    assert result.status == "timed_out"
    assert elapsed < 10, elapsed


class Mixed(Plugin):
    name = "mixed"

    def specs(self, ctx: Context) -> list[Spec]:
        return [
            CommandSpec(name="fails", argv=("fails",)),
            CommandSpec(name="missing", argv=("no-such-command",)),
            FactSpec(name="broken", collect=lambda host: 1 / 0),
            FactSpec(name="fine", collect=lambda host: {"answer": 42, "password": "hunter2"}),
            CommandSpec(name="talks", argv=("talks",)),
        ]


def test_every_spec_gets_an_outcome_and_failures_are_contained(tmp_path: Path) -> None:
    host = host_with(
        tmp_path,
        {
            "fails": "echo 'SQL1032N  No start database manager command was issued.' >&2; exit 4",
            "talks": "echo hello",
        },
    )
    result = run(Mixed(), host, tmp_path)
    by_name = {r.spec_name: r for r in result.results}
    assert by_name["fails"].outcome == "failed"
    assert by_name["fails"].exit_code == 4
    assert "exit status 4: SQL1032N" in (by_name["fails"].reason or "")
    assert by_name["missing"].outcome == "skipped"
    assert by_name["missing"].reason == "command not found: no-such-command"
    assert by_name["broken"].outcome == "failed"
    assert "ZeroDivisionError" in (by_name["broken"].reason or "")
    assert by_name["fine"].outcome == "ok"
    fine = (tmp_path / "staging" / (by_name["fine"].bundle_path or "")).read_text()
    assert '"answer": 42' in fine and "hunter2" not in fine
    assert by_name["talks"].outcome == "ok"
    assert result.status == "partial"


class Chatty(Plugin):
    name = "chatty"

    def specs(self, ctx: Context) -> list[Spec]:
        return [CommandSpec(name="yes", argv=("flood",))]


def test_command_output_is_bounded_and_keeps_the_end(tmp_path: Path) -> None:
    host = host_with(tmp_path, {"flood": "/usr/bin/seq 1 300000"})
    result = run(Chatty(), host, tmp_path, Limits(max_file_size=64 * 1024))
    item = result.results[0]
    assert item.outcome == "ok" and item.captured is not None
    assert item.captured.truncated
    assert item.captured.size <= 64 * 1024
    text = (tmp_path / "staging" / (item.bundle_path or "")).read_text()
    assert text.endswith("299999\n300000\n")


def test_free_space_check_refuses_early(tmp_path: Path) -> None:
    with pytest.raises(NoBundle, match="not enough free space"):
        check_free_space(tmp_path, 1 << 60)
    check_free_space(tmp_path, 1)


class Leaky(Plugin):
    name = "leaky"

    def specs(self, ctx: Context) -> list[Spec]:
        return [CommandSpec(name="fails", argv=("fails",))]


def test_failure_reason_from_stderr_is_redacted(tmp_path: Path) -> None:
    host = host_with(tmp_path, {"fails": "echo 'loginPassword=SECRETX-STDERR' >&2; exit 3"})
    item = run(Leaky(), host, tmp_path).results[0]
    assert item.outcome == "failed"
    assert item.reason == "exit status 3: loginPassword=********"
