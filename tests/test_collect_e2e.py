"""The installed `pa-collect` end to end against a fake host, opened with real 7-Zip."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from pathlib import Path

from conftest import (
    CUSTOMER,
    FakeHost,
    RunPa,
    collect_on,
    extract,
    no_traceback,
    only_bundle,
    seven_zip,
)

from collector.schema import schema_errors

BUNDLE_NAME = re.compile(r"^TS012345678\.pa-collect\.os\.dbhost01\.\d{8}T\d{6}Z\.7z$")
PLANTED = [
    "PLANTED-IFCFG-PW-0001",
    "PLANTED NETPLAN 0002",
    "PLANTED-NM-PW-0003",
    "PLANTED-PEM-BODY-0004",
    "PLANTED-SYSCTL-0005",
    "PLANTED-PROXY-0006",
    "PLANTEDXOR0007",
    "PLANTED XML 0008",
    "PLANTED-KEYSTORE-0009",
    "PLANTED-KDB-0010",
    "PLANTED-STASH-0011",
    "PLANTED-SSHKEY-0012",
]
SECRET_FILES = ["client.p12", "corp.kdb", "corp.sth", "vpn-key"]


def items_by_source(manifest: dict) -> dict[str, dict]:
    return {item["source"]: item for item in manifest["items"]}


def test_bundle_is_named_valid_and_matches_its_manifest(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    result = collect_on(fake_host, run_pa, "--case", "TS012345678", "--severity", "3")
    assert result.returncode == 0, result.stderr
    bundle = only_bundle(fake_host.out)
    assert BUNDLE_NAME.match(bundle.name)
    assert bundle.stat().st_mode & 0o777 == 0o600
    assert seven_zip("t", str(bundle)).returncode == 0

    manifest = extract(bundle, tmp_path / "x")
    assert schema_errors("manifest", manifest) == []
    assert manifest["case"] == {
        "id": "TS012345678",
        "kind": "case",
        "severity": 3,
        "description": {},
    }
    assert manifest["customer"]["customer_number"] == "1234567"
    assert manifest["host"]["hostname"] == "dbhost01.example.com"
    assert manifest["facts"]["os"]["os_name"] == "Red Hat Enterprise Linux"
    assert manifest["facts"]["os"]["os_version"] == "8.8"
    assert manifest["facts"]["network"]["nameservers"] == ["192.0.2.53", "192.0.2.54"]

    listed = set()
    for item in manifest["items"]:
        if item["path"] is None:
            continue
        listed.add(item["path"])
        data = (tmp_path / "x" / item["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"], item["path"]
        assert len(data) == item["size"]
    on_disk = {
        str(p.relative_to(tmp_path / "x")) for p in (tmp_path / "x").rglob("*") if p.is_file()
    }
    assert on_disk == listed | {"manifest.json"}

    summary = json.loads(result.stdout)
    assert summary["bundle"] == str(bundle)
    assert summary["status"] in ("ok", "partial")
    assert set(summary["plugins"]) == {"os", "network"}
    assert not list(fake_host.out.glob(".pa-collect-staging-*")), "staging left behind"


def test_command_output_and_missing_commands_are_recorded(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    result = collect_on(fake_host, run_pa)
    assert result.returncode == 0, result.stderr
    manifest = extract(only_bundle(fake_host.out), tmp_path / "x")
    items = items_by_source(manifest)
    uname = items["uname -a"]
    assert uname["outcome"] == "ok" and uname["exit_code"] == 0
    text = (tmp_path / "x" / uname["path"]).read_text()
    assert "4.18.0-477.10.1.el8_8.x86_64" in text
    assert items["lsblk -o NAME,SIZE,TYPE,FSTYPE,MOUNTPOINT"]["outcome"] == "skipped"
    assert "command not found" in items["lsblk -o NAME,SIZE,TYPE,FSTYPE,MOUNTPOINT"]["reason"]
    # A bundle named without a case: pa-collect.<product>.<host>.<stamp>.7z
    assert re.match(
        r"^pa-collect\.os\.dbhost01\.\d{8}T\d{6}Z\.7z$", only_bundle(fake_host.out).name
    )


def test_encrypted_bundle_needs_the_password(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    result = collect_on(
        fake_host, run_pa, "--pmr", "12345,678,672", "--encrypt", PA_COLLECT_PASSWORD="s3cret pass"
    )
    assert result.returncode == 0, result.stderr
    bundle = only_bundle(fake_host.out)
    assert bundle.name.startswith("12345.678.672.pa-collect.os.")
    assert seven_zip("t", "-ps3cret pass", str(bundle)).returncode == 0
    assert seven_zip("t", "-pwrong", str(bundle)).returncode != 0
    # Header encryption: not even the file names are readable without it.
    listing = seven_zip("l", "-p", str(bundle))
    assert "manifest.json" not in listing.stdout
    manifest = extract(bundle, tmp_path / "x", password="s3cret pass")
    assert manifest["options"]["encrypted"] is True
    assert "s3cret pass" not in json.dumps(manifest)


def test_password_file_encrypts_too(fake_host: FakeHost, run_pa: RunPa, tmp_path: Path) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text("from-a-file\n")
    result = collect_on(fake_host, run_pa, "--password-file", str(secret))
    assert result.returncode == 0, result.stderr
    assert seven_zip("t", "-pfrom-a-file", str(only_bundle(fake_host.out))).returncode == 0


def test_hanging_command_is_killed_at_its_timeout(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    # The command starts a child in its own process group: both must die.
    fake_host.add_command("uname", "/bin/sleep 1000 & /bin/sleep 1000\nwait")
    started = time.monotonic()
    result = collect_on(fake_host, run_pa, "--command-timeout", "2")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    manifest = extract(only_bundle(fake_host.out), tmp_path / "x")
    uname = items_by_source(manifest)["uname -a"]
    assert uname["outcome"] == "timed_out"
    assert manifest["status"] == "partial"
    assert json.loads(result.stdout)["status"] == "partial"
    # About the timeout: 2 s, plus the kill grace and start-up, far below 1000 s.
    assert elapsed < 12, f"took {elapsed:.1f}s"
    assert not _sleepers_left()


def _sleepers_left() -> bool:
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if status.read_bytes().split(b"\0")[:2] == [b"/bin/sleep", b"1000"]:
                return True
        except OSError:
            continue
    return False


def test_planted_secrets_never_reach_the_bundle(
    fake_host: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    result = collect_on(fake_host, run_pa)
    assert result.returncode == 0, result.stderr
    bundle = only_bundle(fake_host.out)
    manifest = extract(bundle, tmp_path / "x")
    everything = b"".join(p.read_bytes() for p in (tmp_path / "x").rglob("*") if p.is_file())
    for secret in PLANTED:
        for form in _encodings(secret):
            assert form not in everything, f"{secret} leaked as {form!r}"
    # The files around the secrets are still there, with their harmless content.
    hosts = items_by_source(manifest)["/etc/sysconfig/network-scripts/ifcfg-eth0"]
    text = (tmp_path / "x" / hosts["path"]).read_text()
    assert "IPADDR=192.0.2.10" in text and "IEEE_8021X_PASSWORD=********" in text
    assert hosts["redactions"] == 1
    sysctl = (tmp_path / "x" / items_by_source(manifest)["sysctl -a"]["path"]).read_text()
    assert "net.ipv4.ipfrag_secret_interval = 600" in sysctl
    # Secret files are named in the manifest, never read into the bundle.
    skipped = {Path(i["source"]).name: i for i in manifest["items"] if i.get("secret")}
    assert set(SECRET_FILES) <= set(skipped)
    assert all(i["outcome"] == "skipped" and i["path"] is None for i in skipped.values())


def _encodings(secret: str) -> list[bytes]:
    raw = secret.encode()
    xor = base64.b64encode(bytes(b ^ ord("_") for b in raw))
    return [raw, base64.b64encode(raw), xor]


def test_collects_on_this_machine_without_fakes(run_pa: RunPa, tmp_path: Path) -> None:
    """The CI machine itself: real commands, real /etc, real psutil."""
    import os

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = run_pa(
        "--product", "os", "--batch", "--json", "--output", str(tmp_path), *CUSTOMER, env=env
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    bundle = Path(summary["bundle"])
    assert seven_zip("t", str(bundle)).returncode == 0
    manifest = extract(bundle, tmp_path / "x")
    assert schema_errors("manifest", manifest) == []
    assert manifest["facts"]["os"]["kernel"]
    assert summary["plugins"]["os"]["outcomes"]["ok"] > 10
    assert no_traceback(result)
