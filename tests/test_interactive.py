"""On a terminal: prompts for what is missing, and a progress line."""

from __future__ import annotations

from pathlib import Path

import pexpect
from conftest import FakeHost, extract, only_bundle, pa_collect_executable


def spawn(fake_host: FakeHost, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        pa_collect_executable(),
        list(args),
        env=fake_host.env(TERM="dumb"),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )


def test_prompts_for_numbers_and_description_then_collects(
    fake_host: FakeHost, tmp_path: Path
) -> None:
    child = spawn(
        fake_host,
        "--product",
        "os",
        "--case",
        "TS012345678",
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
    )
    child.expect("How often does it happen")
    child.sendline("every night at 02:00")
    child.expect("Which operation triggers it")
    child.sendline("BACKUP DATABASE")
    child.expect("Steps to reproduce")
    child.sendline("")
    child.expect("Symptoms")
    child.sendline("SQL2062N")
    child.expect("IBM customer number")
    child.sendline("1234567")
    child.expect("Passport Advantage contract number")
    child.sendline("PA-42")
    child.expect("Bundle:")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    manifest = extract(only_bundle(fake_host.out), tmp_path / "x")
    assert manifest["customer"]["contract_number"] == "PA-42"
    assert manifest["case"]["description"] == {
        "frequency": "every night at 02:00",
        "trigger": "BACKUP DATABASE",
        "symptoms": "SQL2062N",
    }


def test_terminal_shows_progress(fake_host: FakeHost) -> None:
    child = spawn(
        fake_host,
        "--product",
        "os",
        "--batch",
        "--customer-number",
        "1234567",
        "--contract-number",
        "PA-42",
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
    )
    child.expect(r"\[\s*\d+/\d+\] (os|network): ")
    child.expect("Bundle:")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_a_bad_answer_is_explained_and_asked_again(fake_host: FakeHost) -> None:
    child = spawn(
        fake_host,
        "--product",
        "os",
        "--description-file",
        "/dev/null",
        "--contract-number",
        "PA-42",
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
    )
    child.expect("IBM customer number")
    child.sendline("not-a-number")
    child.expect("does not match")
    child.expect("IBM customer number")
    child.sendline("1234567")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")
    only_bundle(fake_host.out)


def test_ctrl_c_at_a_prompt_exits_130(fake_host: FakeHost) -> None:
    child = spawn(
        fake_host,
        "--product",
        "os",
        "--description-file",
        "/dev/null",
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
    )
    child.expect("IBM customer number")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert list(fake_host.out.iterdir()) == []
