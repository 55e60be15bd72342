"""Bad input: a one-line error, a documented exit code, never a traceback."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CUSTOMER, FakeHost, RunPa, collect_on, no_traceback, pa_collect_executable


def assert_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert no_traceback(result), result.stderr
    message = result.stderr.strip()
    for word in words:
        assert word in message, message
    assert not any(Path(p).suffix == ".7z" for p in message.split()), "no bundle on error"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--case", "TS12345"], ["bad case number", "TS followed by 9 digits"]),
        (["--case", "XY012345678"], ["bad case number"]),
        (["--pmr", "12345-678-672"], ["bad PMR number", "xxxxx,bbb,ccc"]),
        (["--case", "TS012345678", "--pmr", "12345,678,672"], ["either --case or --pmr"]),
        (["--severity", "7"], ["--severity", "not in the range"]),
        (["--max-file-size", "lots"], ["is not a size"]),
    ],
)
def test_bad_case_input(
    fake_host: FakeHost, run_pa: RunPa, args: list[str], words: list[str]
) -> None:
    assert_error(collect_on(fake_host, run_pa, *args), 2, *words)
    assert not list(fake_host.out.iterdir())


def test_unknown_product(fake_host: FakeHost, run_pa: RunPa) -> None:
    result = run_pa(
        "--product",
        "oracle",
        "--batch",
        *CUSTOMER,
        "--output",
        str(fake_host.out),
        env=fake_host.env(),
    )
    assert_error(result, 2, "unknown product 'oracle'", "available:", "os")


def test_missing_customer_number_in_batch_names_field_and_place(
    fake_host: FakeHost, run_pa: RunPa
) -> None:
    result = run_pa(
        "--product",
        "os",
        "--batch",
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
        env=fake_host.env(),
    )
    assert_error(
        result,
        2,
        "IBM customer number is missing",
        "customer_number",
        "profile.toml",
        "--customer-number",
    )


def test_missing_contract_number_in_batch(fake_host: FakeHost, run_pa: RunPa) -> None:
    result = run_pa(
        "--product",
        "os",
        "--batch",
        "--customer-number",
        "1234567",
        "--output",
        str(fake_host.out),
        env=fake_host.env(),
    )
    assert_error(result, 2, "contract number is missing", "--contract-number")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("customer_number = 1234567\n", ["profile", "not valid", "customer_number"]),
        ('customer_number = "1234567"\ncolor = "red"\n', ["Additional properties", "color"]),
        ("this is not toml = = \n", ["not valid TOML"]),
        (
            'customer_number = "1234567"\ncontract_number = "X"\nservice_end = "2026-02-30"\n',
            ["service_end"],
        ),
        (
            'customer_number = "1234567"\ncontract_number = "X"\n'
            'service_start = "2026-05-01"\nservice_end = "2026-01-01"\n',
            ["before service_start"],
        ),
    ],
)
def test_bad_profile(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path, content: str, words: list[str]
) -> None:
    profile = tmp_path / "card.toml"
    profile.write_text(content)
    result = run_pa(
        "--product",
        "os",
        "--batch",
        "--profile",
        str(profile),
        "--output",
        str(fake_host.out),
        env=fake_host.env(),
    )
    assert_error(result, 2, *words)


def test_unreadable_profile(fake_host: FakeHost, run_pa: RunPa, tmp_path: Path) -> None:
    result = run_pa(
        "--product",
        "os",
        "--batch",
        "--profile",
        str(tmp_path),
        "--output",
        str(fake_host.out),
        env=fake_host.env(),
    )
    assert_error(result, 2, "cannot read profile")


def test_missing_profile_named_by_environment(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    env = fake_host.env(PA_COLLECT_PROFILE=str(tmp_path / "nope.toml"))
    result = run_pa("--product", "os", "--batch", "--output", str(fake_host.out), env=env)
    assert_error(result, 2, "does not exist", "profile init")


def test_bad_description_file(fake_host: FakeHost, run_pa: RunPa, tmp_path: Path) -> None:
    description = tmp_path / "problem.toml"
    description.write_text('frequency = "daily"\nmood = "bad"\n')
    result = collect_on(fake_host, run_pa, "--description-file", str(description))
    assert_error(result, 2, "unknown key 'mood'")


def test_encrypt_in_batch_without_password(fake_host: FakeHost, run_pa: RunPa) -> None:
    assert_error(collect_on(fake_host, run_pa, "--encrypt"), 2, "PA_COLLECT_PASSWORD")


def test_output_folder_that_does_not_exist(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    result = run_pa(
        "--product",
        "os",
        "--batch",
        *CUSTOMER,
        "--output",
        str(tmp_path / "nope"),
        env=fake_host.env(),
    )
    assert_error(result, 4, "does not exist")


def test_output_folder_without_room(fake_host: FakeHost, run_pa: RunPa) -> None:
    """/dev/shm-like tiny file systems are not available everywhere; a read-only
    folder shows the same path: no bundle, exit 4, nothing left behind."""
    if os.geteuid() == 0:
        target = Path("/proc/self")  # not writable even for root
    else:
        target = fake_host.out
        target.chmod(0o500)
    result = run_pa(
        "--product", "os", "--batch", *CUSTOMER, "--output", str(target), env=fake_host.env()
    )
    assert_error(result, 4, "cannot write")


def test_second_run_exits_5_while_the_lock_is_held(fake_host: FakeHost, run_pa: RunPa) -> None:
    lock = fake_host.home / ".local" / "state" / "pa-collect" / "collect.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("4242\n")
        held.flush()
        started = time.monotonic()
        result = collect_on(fake_host, run_pa)
    assert time.monotonic() - started < 10
    assert_error(result, 5, "another pa-collect run", "4242")
    assert not list(fake_host.out.glob("*.7z"))


def test_interrupt_leaves_nothing_behind(fake_host: FakeHost) -> None:
    fake_host.add_command("uname", "exec /bin/sleep 1000")
    process = subprocess.Popen(
        [
            pa_collect_executable(),
            "--product",
            "os",
            "--batch",
            *CUSTOMER,
            "--sysroot",
            str(fake_host.sysroot),
            "--output",
            str(fake_host.out),
        ],
        env=fake_host.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not list(fake_host.out.glob(".pa-collect-staging-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert list(fake_host.out.iterdir()) == []
