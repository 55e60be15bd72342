"""`pa-collect schedule` against the real `crontab` (Debian's cron package), the
cron.d file and systemd units; and the entry's own command line, run the way
cron runs it, makes a valid snapshot."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FakeHost, RunPa, pa_collect_executable
from test_snapshot import write_card

from collector.bundle import open_bundle
from collector.errors import BadInput
from collector.host import Host
from collector.schedule import Entry, Every, install_cron
from collector.timer import on_calendar

FOREIGN = "17 5 * * * /bin/true # someone else's job"
CRON_ENV = ["env", "-i", "PATH=/usr/bin:/bin"]  # cron's environment, near enough


def crontab(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    program = shutil.which("crontab")
    if program is None:
        pytest.fail("crontab is not installed (Debian package cron); .ci/run installs it")
    return subprocess.run([program, *args], input=stdin, capture_output=True, text=True, timeout=60)


@pytest.fixture
def user_crontab() -> Iterator[None]:
    """This user's real crontab holding one foreign line; restored afterwards."""
    before = crontab("-l")
    try:
        assert crontab("-", stdin=FOREIGN + "\n").returncode == 0
        yield
    finally:
        if before.returncode == 0:
            crontab("-", stdin=before.stdout)
        else:
            crontab("-r")


def ours(table: str, product: str = "os") -> list[str]:
    return [line for line in table.splitlines() if line.endswith(f"# pa-collect:{product}")]


def install(host: FakeHost, run_pa: RunPa, *extra: str) -> subprocess.CompletedProcess[str]:
    write_card(host.home)
    args = ["schedule", "install", "--product", "os", "--sysroot", str(host.sysroot)]
    result = run_pa(*args, "--output", str(host.out), *extra, env=host.env())
    assert result.returncode == 0, result.stderr
    return result


def test_install_list_and_remove_touch_only_our_crontab_line(
    user_crontab: None, fake_host: FakeHost, run_pa: RunPa
) -> None:
    install(fake_host, run_pa, "--every", "15m", "--keep", "4", "--max-size", "2GB")
    table = crontab("-l").stdout
    assert FOREIGN in table.splitlines()
    (line,) = ours(table)
    assert line.startswith("*/15 * * * * ")
    command = shlex.split(line[len("*/15 * * * * ") :], comments=True)
    assert command[:2] == [f"HOME={fake_host.home}", f"PATH={fake_host.bin}"]
    assert command[2] == pa_collect_executable() and Path(command[2]).is_absolute()
    assert command[3:7] == ["snapshot", "--product", "os", "--batch"]
    options = command[7:-3]
    assert options[options.index("--output") + 1] == str(fake_host.out)
    assert options[options.index("--keep") + 1] == "4"
    assert options[options.index("--max-size") + 1] == str(2 * 1024**3)
    assert command[-3:] == [">>", str(fake_host.out / "pa-collect-snapshot.log"), "2>&1"]

    install(fake_host, run_pa, "--every", "1h")  # replaces ours, adds nothing
    (line,) = ours(crontab("-l").stdout)
    assert line.split()[1:5] == ["*", "*", "*", "*"] and 0 <= int(line.split()[0]) < 60

    listed = run_pa("schedule", "list", "--json", env=fake_host.env())
    (entry,) = json.loads(listed.stdout)
    assert (entry["product"], entry["where"]) == ("os", "crontab")
    assert entry["schedule"] == " ".join(line.split()[:5])

    removed = run_pa("schedule", "remove", "--product", "os", env=fake_host.env())
    assert removed.returncode == 0 and "removed 1" in removed.stdout
    assert crontab("-l").stdout.splitlines() == [FOREIGN]
    listed = run_pa("schedule", "list", env=fake_host.env())
    assert listed.stdout.strip() == "no pa-collect schedules"


def test_the_entrys_command_line_makes_a_snapshot_in_crons_environment(
    user_crontab: None, fake_host: FakeHost, run_pa: RunPa
) -> None:
    install(fake_host, run_pa, "--every", "15m")
    (line,) = ours(crontab("-l").stdout)
    # What cron hands to /bin/sh: the line after the five time fields, \% as %.
    command = line.split(None, 5)[5].replace("\\%", "%")
    ran = subprocess.run(
        [*CRON_ENV, "/bin/sh", "-c", command], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0 and ran.stdout == ran.stderr == ""  # all went to the log
    (bundle,) = fake_host.out.glob("snapshot.pa-collect.os.*.7z")
    opened = open_bundle(bundle)
    assert opened.verify() == []
    assert opened.manifest["kind"] == "snapshot" and opened.manifest["status"] == "ok"
    log = (fake_host.out / "pa-collect-snapshot.log").read_text()
    assert f"snapshot {bundle}: ok" in log


def test_system_entries_go_to_the_cron_d_file_beside_foreign_lines(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    cron_d = tmp_path / "cron.d" / "pa-collect"
    cron_d.parent.mkdir()
    cron_d.write_text("17 5 * * * nobody /bin/true\n")
    env = fake_host.env(PA_COLLECT_CRON_D=str(cron_d))
    write_card(fake_host.home)
    args = ["schedule", "install", "--product", "os", "--every", "1d", "--system"]
    result = run_pa(*args, "--output", str(fake_host.out), env=env)
    assert result.returncode == 0, result.stderr
    (line,) = ours(cron_d.read_text())
    fields = line.split()
    assert fields[1:5] == ["2", "*", "*", "*"] and fields[6].startswith("HOME=")
    assert fields[5] == subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    assert cron_d.stat().st_mode & 0o777 == 0o644
    listed = json.loads(run_pa("schedule", "list", "--json", env=env).stdout)
    assert [(e["product"], e["where"]) for e in listed] == [("os", str(cron_d))]
    removed = run_pa("schedule", "remove", "--product", "os", "--system", env=env)
    assert removed.returncode == 0 and "removed 1" in removed.stdout
    assert "17 5 * * * nobody /bin/true" in cron_d.read_text() and not ours(cron_d.read_text())


def test_system_without_root_is_refused_before_anything_is_read() -> None:
    entry = Entry("os", Every(1, "h"), "/usr/bin/pa-collect", (), (), Path("/x/log"), 120.0)
    with pytest.raises(BadInput, match="run as root"):
        install_cron(entry, Host(uid=1000, env={}), system=True)


def test_systemd_units_are_printed_or_written_and_removed(
    fake_host: FakeHost, run_pa: RunPa
) -> None:
    write_card(fake_host.home)
    args = ["schedule", "install", "--product", "os", "--every", "15m", "--systemd"]
    printed = run_pa(*args, "--print", "--output", str(fake_host.out), env=fake_host.env())
    assert printed.returncode == 0, printed.stderr
    text = printed.stdout
    executable = pa_collect_executable()
    assert f'ExecStart="{executable}" "snapshot" "--product" "os" "--batch"' in text
    assert f'"--output" "{fake_host.out}"' in text
    assert f'Environment="HOME={fake_host.home}" "PATH={fake_host.bin}"' in text
    assert f"StandardOutput=append:{fake_host.out}/pa-collect-snapshot.log" in text
    assert "OnCalendar=*-*-* *:00/15:00" in text and "RandomizedDelaySec=225" in text
    units = fake_host.home / ".config/systemd/user"
    assert not units.exists()  # --print writes nothing

    written = run_pa(*args, "--output", str(fake_host.out), env=fake_host.env())
    assert written.returncode == 0, written.stderr
    names = sorted(p.name for p in units.iterdir())
    assert names == ["pa-collect-snapshot-os.service", "pa-collect-snapshot-os.timer"]
    assert "systemctl --user daemon-reload" in written.stdout
    listed = json.loads(run_pa("schedule", "list", "--json", env=fake_host.env()).stdout)
    assert [e["schedule"] for e in listed if e["where"].endswith(".timer")] == ["*-*-* *:00/15:00"]
    removed = run_pa("schedule", "remove", "--product", "os", "--systemd", env=fake_host.env())
    assert "removed 2" in removed.stdout and list(units.iterdir()) == []


@pytest.mark.parametrize(
    ("every", "cron", "calendar"),
    [
        ("15m", "*/15 * * * *", "*-*-* *:00/15:00"),
        ("6h", "7 */6 * * *", "*-*-* 00/6:00:00"),
        ("1d", "7 2 * * *", "*-*-* 02:00:00"),
    ],
)
def test_every_maps_to_cron_fields_and_calendar(every: str, cron: str, calendar: str) -> None:
    parsed = Every.parse(every)
    assert parsed.cron(minute=7) == cron and on_calendar(parsed) == calendar


@pytest.mark.parametrize("every", ["7m", "60m", "5h", "2d", "15", "often"])
def test_every_refuses_uneven_or_unknown_periods(every: str) -> None:
    with pytest.raises(BadInput, match="--every"):
        Every.parse(every)
