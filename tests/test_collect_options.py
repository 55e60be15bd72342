"""Collection options as a user meets them: card, case text, caps, dry run."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CUSTOMER, FakeHost, RunPa, collect_on, extract, only_bundle


def test_profile_init_show_and_use(fake_host: FakeHost, run_pa: RunPa, tmp_path: Path) -> None:
    card = tmp_path / "cfg" / "profile.toml"
    answers = (
        "\n".join(
            [
                "1234567",
                "PA-778899",
                "Ada Admin",
                "ada@example.com",
                "+1 555 0100",
                "Example Corp",
                "2020-01-01",
                "2020-12-31",
                "db2, mq",
            ]
        )
        + "\n"
    )
    result = run_pa("profile", "init", "--profile", str(card), input=answers, env=fake_host.env())
    assert result.returncode == 0, result.stderr
    assert card.stat().st_mode & 0o777 == 0o600
    shown = run_pa("profile", "show", "--profile", str(card), env=fake_host.env())
    assert 'contract_number = "PA-778899"' in shown.stdout
    assert 'products = ["db2", "mq"]' in shown.stdout

    # The card found through $PA_COLLECT_PROFILE: expired. os is no IBM product, so
    # no entitlement question arises for it.
    result = run_pa(
        "--product",
        "os",
        "--batch",
        "--json",
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
        env=fake_host.env(PA_COLLECT_PROFILE=str(card)),
    )
    assert result.returncode == 0, result.stderr
    manifest = extract(only_bundle(fake_host.out), tmp_path / "x")
    assert manifest["customer"]["email"] == "ada@example.com"
    assert manifest["entitlement"]["service_active"] is False
    assert manifest["entitlement"]["products"] == {}
    warnings = json.loads(result.stdout)["warnings"]
    assert any("service period" in w and "2020-12-31" in w for w in warnings)
    assert not any("not on the customer card" in w for w in warnings)


def test_user_config_card_and_command_line_override(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    card = fake_host.home / ".config" / "pa-collect" / "profile.toml"
    card.parent.mkdir(parents=True)
    card.write_text('customer_number = "7654321"\ncontract_number = "OLD-1"\n')
    result = run_pa(
        "--product",
        "os",
        "--batch",
        "--contract-number",
        "NEW-2",
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
        env=fake_host.env(),
    )
    assert result.returncode == 0, result.stderr
    customer = extract(only_bundle(fake_host.out), tmp_path / "x")["customer"]
    assert customer == {"customer_number": "7654321", "contract_number": "NEW-2"}


def test_description_file_goes_into_the_manifest(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    problem = tmp_path / "problem.txt"
    problem.write_text(
        'frequency = "nightly"\ntrigger = "BACKUP DATABASE"\n'
        'symptoms = "SQL2062N, db_password=hunter2"\n'
    )
    result = collect_on(
        fake_host,
        run_pa,
        "--case",
        "TS000000001",
        "--severity",
        "2",
        "--description-file",
        str(problem),
    )
    assert result.returncode == 0, result.stderr
    case = extract(only_bundle(fake_host.out), tmp_path / "x")["case"]
    assert case["severity"] == 2
    assert case["description"]["frequency"] == "nightly"
    assert case["description"]["trigger"] == "BACKUP DATABASE"
    # The description passes the redactor like everything else.
    assert case["description"]["symptoms"] == "SQL2062N, db_password=********"


def test_file_cap_keeps_the_newest_lines(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    big = fake_host.sysroot / "etc" / "fstab"
    big.write_text("".join(f"/dev/sd{i} /mnt/{i} xfs defaults 0 0\n" for i in range(5000)))
    result = collect_on(fake_host, run_pa, "--max-file-size", "4K")
    assert result.returncode == 0, result.stderr
    manifest = extract(only_bundle(fake_host.out), tmp_path / "x")
    fstab = next(i for i in manifest["items"] if i["source"] == "/etc/fstab")
    assert fstab["truncated"] is True
    assert fstab["original_size"] == big.stat().st_size
    kept = (tmp_path / "x" / fstab["path"]).read_text()
    assert kept.endswith("/dev/sd4999 /mnt/4999 xfs defaults 0 0\n")
    assert kept.startswith("/dev/sd")  # starts on a line boundary
    assert len(kept) <= 4096


def test_total_cap_skips_items_past_it(fake_host: FakeHost, run_pa: RunPa, tmp_path: Path) -> None:
    result = collect_on(fake_host, run_pa, "--max-total-size", "2K", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    manifest = extract(only_bundle(fake_host.out), tmp_path / "x")
    collected = sum(i.get("size", 0) for i in manifest["items"])
    assert collected <= 2048
    assert any(i["reason"] == "total size cap reached" for i in manifest["items"])


def test_dry_run_lists_without_writing(fake_host: FakeHost, run_pa: RunPa) -> None:
    result = run_pa(
        "--product",
        "os",
        "--dry-run",
        "--json",
        "--sysroot",
        str(fake_host.sysroot),
        env=fake_host.env(),
        cwd=fake_host.out,
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    sources = {i["source"] for i in plan["plugins"]["os"]["items"]}
    assert {"/etc/fstab", "uname -a"} <= sources
    skipped = {s["source"]: s["reason"] for s in plan["plugins"]["network"]["skipped"]}
    assert "secret file type .p12" in skipped.values()
    assert plan["estimate"] > 0
    assert list(fake_host.out.iterdir()) == []
    human = run_pa(
        "--product",
        "os",
        "--dry-run",
        "--sysroot",
        str(fake_host.sysroot),
        env=fake_host.env(),
        cwd=fake_host.out,
    )
    assert "Estimated size before compression" in human.stdout


def test_help_documents_severities_and_exit_codes(run_pa: RunPa) -> None:
    result = run_pa("collect", "--help")
    assert "1 = production down / no service" in result.stdout
    assert "4 = question or enhancement" in result.stdout
    assert "5    another run holds the lock" in result.stdout
    top = run_pa("--help")
    assert "130  interrupted" in top.stdout and "collect" in top.stdout


def test_collect_subcommand_is_the_default(fake_host: FakeHost, run_pa: RunPa) -> None:
    result = run_pa(
        "collect",
        "--product",
        "os",
        "--batch",
        *CUSTOMER,
        "--sysroot",
        str(fake_host.sysroot),
        "--output",
        str(fake_host.out),
        env=fake_host.env(),
    )
    assert result.returncode == 0, result.stderr
    only_bundle(fake_host.out)
