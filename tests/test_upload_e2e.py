"""The agent and the intake together: `pa-collect --upload` and `pa-collect upload`
over HTTPS to a real `pa-intake` on 127.0.0.1, with a test CA."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import FakeHost, RunPa, collect_on, only_bundle
from intake_server import CASE, OTHER_CASE, Intake, MakeIntake


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def upload_args(intake: Intake) -> list[str]:
    return ["--upload-url", intake.endpoint, "--ca-bundle", str(intake.tls.ca)]


def test_collect_and_upload_stores_the_same_bytes(
    fake_host: FakeHost, run_pa: RunPa, make_intake: MakeIntake
) -> None:
    intake = make_intake()
    result = collect_on(
        fake_host,
        run_pa,
        "--case",
        CASE,
        "--upload",
        *upload_args(intake),
        PA_COLLECT_TOKEN=intake.tokens["customer"],
    )
    assert result.returncode == 0, result.stderr
    bundle = only_bundle(fake_host.out)
    summary = json.loads(result.stdout)
    receipt = summary["upload"]
    assert receipt["status"] == "stored" and receipt["attachment_id"]
    stored = intake.storage / CASE / bundle.name
    assert sha256(stored) == sha256(bundle) == receipt["sha256"] == summary["sha256"]
    listed = run_pa("uploads", "--json", env=fake_host.env())
    assert [r["sha256"] for r in json.loads(listed.stdout)] == [receipt["sha256"]]


def test_wrong_token_exits_3_and_keeps_the_bundle_then_upload_resumes(
    fake_host: FakeHost, run_pa: RunPa, make_intake: MakeIntake
) -> None:
    intake = make_intake()
    bad = "pai_nope_" + "0" * 40
    result = collect_on(
        fake_host, run_pa, "--case", CASE, "--upload", *upload_args(intake), PA_COLLECT_TOKEN=bad
    )
    assert result.returncode == 3, result.stderr
    assert "token" in result.stderr and bad not in result.stderr + result.stdout
    bundle = only_bundle(fake_host.out)  # kept
    assert json.loads(result.stdout)["upload"]["error"]

    again = run_pa(
        "upload",
        str(bundle),
        *upload_args(intake),
        "--json",
        env=fake_host.env(PA_COLLECT_TOKEN=intake.tokens["customer"]),
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "stored"
    assert sha256(intake.storage / CASE / bundle.name) == sha256(bundle)


def test_another_customers_case_is_refused(
    fake_host: FakeHost, run_pa: RunPa, make_intake: MakeIntake
) -> None:
    intake = make_intake()
    result = collect_on(
        fake_host,
        run_pa,
        "--case",
        OTHER_CASE,
        "--upload",
        *upload_args(intake),
        PA_COLLECT_TOKEN=intake.tokens["customer"],
    )
    assert result.returncode == 3, result.stderr
    assert OTHER_CASE in result.stderr
    only_bundle(fake_host.out)


def test_upload_without_case_or_token_fails_before_collecting(
    fake_host: FakeHost, run_pa: RunPa
) -> None:
    result = collect_on(fake_host, run_pa, "--upload", "--upload-url", "https://127.0.0.1:9/files/")
    assert result.returncode == 2 and "--case" in result.stderr
    result = collect_on(
        fake_host, run_pa, "--case", CASE, "--upload", "--upload-url", "https://127.0.0.1:9/files/"
    )
    assert result.returncode == 2 and "PA_COLLECT_TOKEN" in result.stderr
    assert list(fake_host.out.iterdir()) == []
