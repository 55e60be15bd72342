"""`pa-collect inspect`, `verify` and `extract` on bundles the installed
pa-collect wrote on fake hosts (a Db2 11.1 host for the report)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pexpect
import py7zr
import pytest
from conftest import (
    DATA,
    FakeHost,
    RunPa,
    collect_on,
    extract,
    no_traceback,
    only_bundle,
    pa_collect_executable,
)

from collector.findings import SEVERITIES

PASSWORD = "correct horse"
ZONE = timezone(timedelta(minutes=60))
DIAG = "home/db2inst1/sqllib/db2dump/DIAG0000"
# A fake `su - USER -c CMD`: runs CMD as the caller, so a root test run needs no
# real instance owner (pa-collect runs Db2 commands through su when it is root).
FAKE_SU = '[ "$1" = - ] && shift\nshift\n[ "$1" = -c ] && shift\nexec /bin/sh -c "$1"'
DB2LEVEL_11_1 = """/bin/cat <<OUT
DB21085I  This instance or install (instance name, where applicable:
"${DB2INSTANCE:-db2inst1}") uses "64" bits and DB2 code release "SQL11014" with
level identifier "0205010F".
Informational tokens are "DB2 v11.1.4.7", "s2205121000", "DYN2205121000AMD64",
and Fix Pack "7".
Product is installed at "/opt/ibm/db2/V11.1".

OUT"""
CARD = """customer_number = "1234567"
contract_number = "PA-778899"
company = "Acme <Bank> & Trust"
service_start = "2025-01-01"
service_end = "2099-12-31"
products = ["db2"]
"""
HOSTILE = '<script>alert(1)</script><img src="https://evil.example/x.png">'
# Terminal escape sequences (clear screen, red) as a TOML file spells them.
ESCAPES_IN_TOML = "\\u001b[2J\\u001b[31mred\\u009b0m"
ESCAPES = "\x1b[2J\x1b[31mred\x9b0m"


# --- a fake Db2 host, its bundle and the report --------------------------------


def db2_record(moment: datetime, level: str, function: str, message: str) -> bytes:
    header = moment.astimezone(ZONE).strftime("%Y-%m-%d-%H.%M.%S.%f") + "+060 I1E400"
    lines = [
        f"{header}            LEVEL: {level}",
        "PID     : 4242                 TID : 1             PROC : db2sysc 0",
        "INSTANCE: db2inst1             NODE : 000            DB   : PRODDB",
        f"FUNCTION: DB2 UDB, buffer pool services, {function}, probe:20",
        f"MESSAGE : {message}",
    ]
    return ("\n".join(lines) + "\n\n").encode()


class Db2Host:
    """The fake Db2 11.5 host of tests/data/db2, with commands that override the
    fake ones (first on PATH) and extra db2diag records."""

    def __init__(self, host: FakeHost, run_pa: RunPa) -> None:
        self.host = host
        self.run_pa = run_pa
        self.first = host.out.parent / "override-bin"
        self.first.mkdir()
        host.add_command("su", FAKE_SU)

    def override(self, name: str, script: str) -> None:
        path = self.first / name
        path.write_text("#!/bin/sh\n" + script + "\n")
        path.chmod(0o755)

    def hadr_state(self, state: str) -> None:
        original = (DATA / "db2/bin/db2pd").read_text()
        assert "HADR_STATE = PEER" in original
        self.override("db2pd", original.replace("HADR_STATE = PEER", f"HADR_STATE = {state}"))

    def add_records(self, *records: bytes) -> None:
        with (self.host.sysroot / DIAG / "db2diag.log").open("ab") as log:
            log.write(b"".join(records))

    def collect(self, *extra: str) -> Path:
        (self.host.home / "profile.toml").write_text(CARD)
        result = self.run_pa(
            "--product",
            "db2",
            "--batch",
            "--since",
            "all",
            "--case",
            "TS012345678",
            "--severity",
            "2",
            "--profile",
            str(self.host.home / "profile.toml"),
            "--sysroot",
            str(self.host.sysroot),
            "--output",
            str(self.host.out),
            *extra,
            env=self.env(),
        )
        assert result.returncode == 0, result.stderr
        return only_bundle(self.host.out)

    def env(self) -> dict[str, str]:
        env = self.host.env()
        env["PATH"] = f"{self.first}:{env['PATH']}"
        return env


@pytest.fixture
def db2_host(product_host: Callable[[str], FakeHost], run_pa: RunPa) -> Db2Host:
    return Db2Host(product_host("db2"), run_pa)


def fresh_errors() -> list[bytes]:
    """Three identical Severe records in the last hours: the top error group."""
    now = datetime.now(ZONE)
    return [
        db2_record(
            now - timedelta(hours=h),
            "Severe",
            "sqlbAllocateBP",
            "ZRC=0x8B0F0000=-1961951232=SQLB_BADPAGE",
        )
        for h in (3, 2, 1)
    ]


@pytest.fixture
def db2_11_1_bundle(db2_host: Db2Host, tmp_path: Path) -> Path:
    db2_host.override("db2level", DB2LEVEL_11_1)
    db2_host.add_records(*fresh_errors())
    description = tmp_path / "problem.toml"
    description.write_text(
        f'symptoms = """{HOSTILE}"""\nfrequency = "daily"\ntrigger = "{ESCAPES_IN_TOML}"\n'
    )
    return db2_host.collect("--description-file", str(description))


def inspect_json(run_pa: RunPa, bundle: Path, env: dict[str, str]) -> dict[str, Any]:
    result = run_pa("inspect", "--json", str(bundle), env=env)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


# --- inspect ---------------------------------------------------------------------


def test_inspect_json_reports_db2_11_1_its_end_of_support_and_top_errors(
    db2_11_1_bundle: Path, db2_host: Db2Host, run_pa: RunPa
) -> None:
    report = inspect_json(run_pa, db2_11_1_bundle, db2_host.env())

    (db2,) = report["products"]
    assert (db2["product"], db2["version"], db2["fix_pack"]) == ("db2", "11.1.4.7", "7")
    assert db2["lifecycle"]["release"] == "11.1"
    assert db2["lifecycle"]["end_of_support"] == "2022-04-30"
    assert db2["lifecycle"]["status"] in ("end_of_support", "extended")
    assert db2["lifecycle"]["source"].startswith("https://www.ibm.com/")
    assert {"name": "db2inst1", "state": "active"} in db2["instances"]
    assert "PRODDB" in db2["highlights"]["databases"]

    findings = {f["id"]: f for f in report["findings"]}
    eos = findings["db2.end_of_support"]
    assert "11.1.4.7" in eos["message"] and eos["severity"] in ("high", "medium")
    assert eos["evidence"] == "manifest.json#/facts/db2/version"
    assert [SEVERITIES.index(f["severity"]) for f in report["findings"]] == sorted(
        SEVERITIES.index(f["severity"]) for f in report["findings"]
    )
    assert findings["db2.recent_errors"]["severity"] == "high"

    groups = report["errors"]["db2"]["groups"]
    top = groups[0]
    assert (top["function"], top["message"], top["count"]) == ("sqlbAllocateBP", "SQLB_BADPAGE", 3)
    assert top["levels"] == ["Severe"] and top["first"] < top["last"]
    pairs = {(g["function"], g["message"]) for g in groups}
    assert ("pdInvokeCalloutScript", "SQLO_NOMEM") in pairs  # the fixture's old Severe record
    assert ("ossGetDiskInfo", "ECF_ACCESS_DENIED") in pairs
    assert all(g["levels"] != ["Warning"] for g in groups)


def test_inspect_json_has_case_customer_entitlement_host_and_plugins(
    db2_11_1_bundle: Path, db2_host: Db2Host, run_pa: RunPa
) -> None:
    report = inspect_json(run_pa, db2_11_1_bundle, db2_host.env())

    assert report["case"]["id"] == "TS012345678" and report["case"]["severity"] == 2
    assert report["case"]["description"]["symptoms"] == HOSTILE
    assert report["case"]["description"]["trigger"] == ESCAPES
    assert report["customer"]["contract_number"] == "PA-778899"
    assert report["entitlement"]["service_end"] == "2099-12-31"
    assert report["entitlement"]["service_active"] is True
    assert report["entitlement"]["products"] == {"db2": True}
    assert report["host"]["hostname"] == "dbhost01.example.com"
    assert report["host"]["os"] == "Red Hat Enterprise Linux 8.8"
    outcomes = {p["name"]: p for p in report["plugins"]}
    assert set(outcomes) == {"os", "network", "db2"}
    assert outcomes["db2"]["items"]["ok"] > 10


def test_inspect_text_fits_one_screen(
    db2_11_1_bundle: Path, db2_host: Db2Host, run_pa: RunPa
) -> None:
    result = run_pa("inspect", str(db2_11_1_bundle), env=db2_host.env())

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 60, result.stdout
    assert max(len(line) for line in lines) <= 110
    text = result.stdout
    for expected in ("1234567", "PA-778899", "TS012345678", "severity 2", "IBM Db2 11.1.4.7"):
        assert expected in text
    assert "SUPPORT" in text and "db2.end_of_support" in text
    assert "sqlbAllocateBP: SQLB_BADPAGE" in text
    assert "\x1b" not in text and "\x9b" not in text and "?[2J?[31mred?0m" in text


def test_inspect_refuses_json_and_html_together(
    db2_11_1_bundle: Path, run_pa: RunPa, tmp_path: Path
) -> None:
    result = run_pa("inspect", "--json", "--html", str(tmp_path / "r.html"), str(db2_11_1_bundle))
    assert result.returncode == 2 and "exclude each other" in result.stderr


# --- the HTML report ----------------------------------------------------------------


@pytest.fixture
def html_report(db2_11_1_bundle: Path, db2_host: Db2Host, run_pa: RunPa, tmp_path: Path) -> Path:
    target = tmp_path / "report.html"
    result = run_pa("inspect", "--html", str(target), str(db2_11_1_bundle), env=db2_host.env())
    assert result.returncode == 0, result.stderr
    return target


def test_html_report_is_self_contained_and_escapes_the_bundle(html_report: Path) -> None:
    page = html_report.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Acme &lt;Bank&gt; &amp; Trust" in page
    assert "db2.end_of_support" in page and "11.1.4.7" in page


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and decompressed scanlines of a PNG (stdlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def test_html_report_renders_in_headless_chromium(html_report: Path, tmp_path: Path) -> None:
    program = chromium()
    if program is None:
        pytest.skip("chromium is not installed (Debian package chromium; .ci/run installs it)")
    screenshot = tmp_path / "report.png"
    result = subprocess.run(
        [
            program,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1280,2000",
            html_report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert screenshot.is_file(), result.stderr
    width, height, pixels = png_pixels(screenshot.read_bytes())
    assert (width, height) == (1280, 2000)
    # A blank page is one colour: a handful of distinct byte values at most.
    assert len(set(pixels)) > 32, "the screenshot is blank"
    assert screenshot.stat().st_size > 20_000


# --- verify --------------------------------------------------------------------------


@pytest.fixture
def os_bundle(fake_host: FakeHost, run_pa: RunPa) -> Path:
    result = collect_on(fake_host, run_pa)
    assert result.returncode == 0, result.stderr
    return only_bundle(fake_host.out)


def seven_zip_add(tree: Path, archive: Path) -> None:
    program = shutil.which("7zz")
    if program is None:
        pytest.fail("7zz is not installed (Debian package 7zip)")
    names = sorted(p.name for p in tree.iterdir())
    done = subprocess.run(
        [program, "a", "-y", str(archive), *names], cwd=tree, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_verify_a_good_bundle_exits_0(os_bundle: Path, run_pa: RunPa) -> None:
    result = run_pa("verify", str(os_bundle))
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stdout


def test_verify_a_tampered_bundle_lists_the_problem_and_exits_1(
    os_bundle: Path, run_pa: RunPa, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    items: list[dict[str, Any]] = extract(os_bundle, tree)["items"]  # type: ignore[assignment]
    victim = next(item["path"] for item in items if item["path"])
    (tree / victim).write_bytes((tree / victim).read_bytes() + b"tampered\n")
    seven_zip_add(tree, tmp_path / "tampered.7z")

    result = run_pa("verify", str(tmp_path / "tampered.7z"))

    assert result.returncode == 1, result.stderr
    assert f"{victim}: sha256 or size differs from the manifest" in result.stdout
    assert "1 problem(s)" in result.stderr and no_traceback(result)


def test_verify_a_file_that_is_no_bundle_exits_2(run_pa: RunPa, tmp_path: Path) -> None:
    junk = tmp_path / "junk.7z"
    junk.write_bytes(os.urandom(4096))
    result = run_pa("verify", str(junk))
    assert result.returncode == 2
    assert "not a readable 7z bundle" in result.stderr and no_traceback(result)


def test_verify_help_documents_the_exit_codes(run_pa: RunPa) -> None:
    result = run_pa("verify", "--help")
    assert result.returncode == 0
    assert "0  the bundle is intact" in result.stdout
    assert "1  problems found" in result.stdout and "2  unreadable" in result.stdout


# --- extract -------------------------------------------------------------------------


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_extract_writes_what_7z_extracts(os_bundle: Path, run_pa: RunPa, tmp_path: Path) -> None:
    extract(os_bundle, tmp_path / "by-7z")

    result = run_pa("extract", str(os_bundle), str(tmp_path / "ours"))

    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "ours") == files_under(tmp_path / "by-7z")


def test_extract_refuses_a_folder_that_is_not_empty_unless_forced(
    os_bundle: Path, run_pa: RunPa, tmp_path: Path
) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "mine.txt").write_text("keep me\n")

    refused = run_pa("extract", str(os_bundle), str(target))
    forced = run_pa("extract", "--force", str(os_bundle), str(target))

    assert refused.returncode == 2 and "is not empty" in refused.stderr
    assert forced.returncode == 0, forced.stderr
    assert (target / "manifest.json").is_file() and (target / "mine.txt").read_text() == "keep me\n"


def test_extract_refuses_a_path_traversal_bundle(run_pa: RunPa, tmp_path: Path) -> None:
    archive = tmp_path / "evil.7z"
    with py7zr.SevenZipFile(archive, "w") as writer:
        writer._writestr(b'{"items": []}', "manifest.json")
        writer._writestr(b"owned\n", "../escaped.txt")
    target = tmp_path / "deep" / "target"

    result = run_pa("extract", str(archive), str(target))

    assert result.returncode == 2
    assert "path traversal" in result.stderr and no_traceback(result)
    assert not (tmp_path / "deep" / "escaped.txt").exists()
    assert not target.exists() or not any(target.iterdir())


@pytest.fixture
def encrypted_bundle(fake_host: FakeHost, run_pa: RunPa) -> Path:
    result = collect_on(fake_host, run_pa, "--encrypt", PA_COLLECT_PASSWORD=PASSWORD)
    assert result.returncode == 0, result.stderr
    return only_bundle(fake_host.out)


def test_extract_with_a_wrong_password_exits_2(
    encrypted_bundle: Path, run_pa: RunPa, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("not it\n")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}

    result = run_pa(
        "extract",
        "--password-file",
        str(password_file),
        str(encrypted_bundle),
        str(tmp_path / "extracted"),
        env=env,
    )

    assert result.returncode == 2
    assert "wrong password" in result.stderr and no_traceback(result)
    assert not (tmp_path / "extracted" / "manifest.json").exists()


def test_extract_without_a_password_says_how_to_give_one(
    encrypted_bundle: Path, run_pa: RunPa, tmp_path: Path
) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    result = run_pa("extract", str(encrypted_bundle), str(tmp_path / "extracted"), env=env)
    assert result.returncode == 2
    assert "encrypted" in result.stderr and "PA_COLLECT_PASSWORD" in result.stderr


def test_extract_and_verify_with_the_right_password(
    encrypted_bundle: Path, run_pa: RunPa, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PA_COLLECT_PASSWORD": PASSWORD,
    }
    verified = run_pa("verify", str(encrypted_bundle), env=env)
    extracted = run_pa("extract", str(encrypted_bundle), str(tmp_path / "extracted"), env=env)
    assert verified.returncode == 0, verified.stderr
    assert extracted.returncode == 0, extracted.stderr
    assert json.loads((tmp_path / "extracted" / "manifest.json").read_text())["options"][
        "encrypted"
    ]


def test_extract_refuses_a_link_in_the_target_folder(
    os_bundle: Path, run_pa: RunPa, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "os").symlink_to(elsewhere)

    result = run_pa("extract", "--force", str(os_bundle), str(target))

    assert result.returncode == 2 and "is a link" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_an_encrypted_bundle_asks_for_its_password_on_a_terminal(
    encrypted_bundle: Path, fake_host: FakeHost
) -> None:
    child = pexpect.spawn(
        pa_collect_executable(),
        ["verify", str(encrypted_bundle)],
        env=fake_host.env(TERM="dumb"),
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Bundle password")
    child.sendline(PASSWORD)
    child.expect("intact")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_a_plain_bundle_never_asks_for_a_password(os_bundle: Path, fake_host: FakeHost) -> None:
    child = pexpect.spawn(
        pa_collect_executable(),
        ["verify", str(os_bundle)],
        env=fake_host.env(TERM="dumb"),
        encoding="utf-8",
        timeout=60,
    )
    child.expect("intact")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "password" not in (child.before or "").lower()


def test_a_wrong_password_with_visible_file_names_is_named_as_such(
    run_pa: RunPa, tmp_path: Path
) -> None:
    program = shutil.which("7zz")
    if program is None:
        pytest.fail("7zz is not installed (Debian package 7zip)")
    (tmp_path / "manifest.json").write_text('{"items": []}')
    packed = subprocess.run(
        [program, "a", f"-p{PASSWORD}", "-mhe=off", "b.7z", "manifest.json"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert packed.returncode == 0, packed.stderr
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PA_COLLECT_PASSWORD": "no"}

    result = run_pa("extract", str(tmp_path / "b.7z"), str(tmp_path / "extracted"), env=env)

    assert result.returncode == 2 and "wrong password" in result.stderr and no_traceback(result)
