"""`pa-collect --obfuscate ... --map M` end to end on the fake host: no original
host name, address, MAC or user name in any byte or member name of the bundle
(opened with the real 7z), the same replacements in a second run with the map,
and a manifest that says what was obfuscated without holding the map.

Needs the collection pipeline to apply collector.obfuscate (files, member
names, manifest, facts, the bundle's file name) and to write the summary."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest
from conftest import FakeHost, RunPa, collect_on, extract, only_bundle

HOSTNAMES = ("dbhost01", "dbhost02", "example.com")
ADDRESSES = ("192.0.2.10", "192.0.2.11", "192.0.2.1 ", "52:54:00:12:34:56")
USER = "jsmith"
KINDS = "hostnames,ips,macs,users"


@pytest.fixture
def planted(fake_host: FakeHost) -> FakeHost:
    """The fake host with a person's account that shows up in a collected file."""
    etc = fake_host.sysroot / "etc"
    (etc / "passwd").write_text(
        f"root:x:0:0:root:/root:/bin/bash\n{USER}:x:1000:1000:John Smith:/home/{USER}:/bin/bash\n"
    )
    with (etc / "security" / "limits.conf").open("a") as limits:
        limits.write(f"{USER}  soft  nofile  65536\n")
    return fake_host


def everything(folder: Path) -> tuple[bytes, str]:
    """All bytes of every file, and every member name, lower-cased."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    data = b"\n".join(p.read_bytes() for p in files).lower()
    names = "\n".join(p.relative_to(folder).as_posix() for p in files).lower()
    return data, names


def collect(host: FakeHost, run_pa: RunPa, out: Path, *extra: str) -> Path:
    out.mkdir()
    host.out = out
    result = collect_on(host, run_pa, *extra)
    assert result.returncode == 0, result.stderr
    return only_bundle(out)


def test_obfuscated_bundle_holds_no_original(
    planted: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    plain = collect(planted, run_pa, tmp_path / "plain")
    plain_data, _ = everything(_extracted(plain, tmp_path / "x0"))
    originals = [*HOSTNAMES, *ADDRESSES, USER]
    assert all(o.encode() in plain_data for o in originals)  # the test can fail

    mapping = tmp_path / "case.map"
    bundle = collect(planted, run_pa, tmp_path / "one", "--obfuscate", KINDS, "--map", str(mapping))
    folder = tmp_path / "x1"
    manifest = extract(bundle, folder)
    data, names = everything(folder)
    for original in originals:
        assert original.encode() not in data, original
        assert original.strip() not in names and original not in bundle.name.lower()
    key = json.loads(mapping.read_text())["key"]
    assert key.encode() not in data and b'"entries"' not in data  # the map is not inside
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600
    summary = manifest["obfuscation"]
    assert isinstance(summary, dict)
    assert summary["kinds"] == ["hostnames", "ips", "macs", "users"]
    assert summary["map_id"] == hashlib.sha256(bytes.fromhex(key)).hexdigest()[:12]
    assert all(summary["counts"][kind] > 0 for kind in ("hostname", "ip", "mac", "user"))
    leaks = run_pa("verify", "--leaks", "--map", str(mapping), str(bundle))
    assert leaks.returncode == 0, leaks.stdout


def test_the_same_map_gives_the_same_replacements(
    planted: FakeHost, run_pa: RunPa, tmp_path: Path
) -> None:
    mapping = tmp_path / "case.map"
    options = ("--obfuscate", KINDS, "--map", str(mapping))
    first = _extracted(collect(planted, run_pa, tmp_path / "a", *options), tmp_path / "xa")
    second = _extracted(collect(planted, run_pa, tmp_path / "b", *options), tmp_path / "xb")
    hosts = [p for p in first.rglob("hosts") if p.is_file()]
    assert len(hosts) == 1
    relative = hosts[0].relative_to(first)
    assert (second / relative).read_bytes() == hosts[0].read_bytes()
    assert b"host-" in hosts[0].read_bytes()
    assert sorted(p.relative_to(first) for p in first.rglob("*")) == sorted(
        p.relative_to(second) for p in second.rglob("*")
    )


def _extracted(bundle: Path, folder: Path) -> Path:
    extract(bundle, folder)
    return folder
