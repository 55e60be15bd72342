"""The leak scanner and `pa-collect verify --leaks`: planted secrets are found
with their rule and line and never printed; a real bundle is clean."""

from __future__ import annotations

import json
import random
from pathlib import Path

from conftest import FakeHost, RunPa, collect_on, extract, no_traceback, only_bundle

from collector.leaks import Leak, installed_rules, scan_bytes_stream
from collector.obfuscate import Obfuscator
from collector.obfuscation_map import new_map
from collector.redact import redact_bytes

# (file, line, rule, the secret that must never be printed)
PLANTED = [
    ("etc/app.properties", 2, "secret_key_value", "Planted-Props-0001"),
    ("etc/app.properties", 4, "url_credentials", "Planted-Url-0002"),
    ("opt/was/security.xml", 2, "ibm_encoded_password", "PlantedXor0003"),
    ("opt/was/server.xml", 1, "xml_secret_element", "Planted-Xml-0004"),
    ("home/app/key.pem", 3, "pem_private_key", "PlantedKeyMaterial0005"),
]
FILES = {
    "etc/app.properties": "name=app\ndb.password=Planted-Props-0001\nlevel=3\n"
    "repo=https://bob:Planted-Url-0002@repo.example.com/x\n",
    "opt/was/security.xml": '<security enabled="true">\n <user pw="{xor}PlantedXor0003"/>\n',
    "opt/was/server.xml": "<bindPassword>Planted-Xml-0004</bindPassword>\n",
    "home/app/key.pem": "# key\n-----BEGIN RSA PRIVATE KEY-----\nPlantedKeyMaterial0005\n"
    "-----END RSA PRIVATE KEY-----\n",
    "var/log/clean.log": "2026-11-27 started, password_max_age=90, passwd: files\n",
}


def plant(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_every_planted_secret_is_found_and_never_printed(tmp_path: Path, run_pa: RunPa) -> None:
    tree = plant(tmp_path / "tree")
    result = run_pa("verify", "--leaks", str(tree))
    assert result.returncode == 1, result.stderr
    found = set(result.stdout.splitlines())
    for name, line, rule, secret in PLANTED:
        assert f"{name}:{line}: {rule}" in found
        assert secret not in result.stdout + result.stderr
    assert not any(line.startswith("var/log/clean.log") for line in found)
    assert "possible leak(s)" in result.stderr and no_traceback(result)


def test_json_output_lists_file_line_and_rule(tmp_path: Path, run_pa: RunPa) -> None:
    tree = plant(tmp_path / "tree")
    result = run_pa("verify", "--leaks", "--json", str(tree))
    document = json.loads(result.stdout)
    assert result.returncode == 1 and document["clean"] is False and document["files"] == 5
    rows = {(leak["file"], leak["line"], leak["rule"]) for leak in document["leaks"]}
    assert {(name, line, rule) for name, line, rule, _ in PLANTED} <= rows


def test_a_redacted_tree_is_clean(tmp_path: Path, run_pa: RunPa) -> None:
    tree = plant(tmp_path / "tree")
    for path in tree.rglob("*"):
        if path.is_file():
            path.write_bytes(redact_bytes(path.read_bytes())[0])
    result = run_pa("verify", "--leaks", str(tree))
    assert result.returncode == 0, result.stdout
    assert "no leaks found (5 files scanned)" in result.stdout


def test_a_collected_bundle_is_clean(fake_host: FakeHost, run_pa: RunPa, tmp_path: Path) -> None:
    assert collect_on(fake_host, run_pa).returncode == 0
    bundle = only_bundle(fake_host.out)
    result = run_pa("verify", "--leaks", str(bundle))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no leaks found" in result.stdout
    extract(bundle, tmp_path / "x")  # the real 7z: the extracted tree is clean too
    assert run_pa("verify", "--leaks", str(tmp_path / "x")).returncode == 0


def test_the_map_finds_originals_left_in_a_tree(tmp_path: Path, run_pa: RunPa) -> None:
    mapping = tmp_path / "case.map"
    seeded = Obfuscator.for_map(new_map(mapping))
    seeded.seed("hostname", "dbhost01.example.com")
    seeded.seed("ip", "192.0.2.10")
    seeded.save()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.log").write_text("ok\nreply from DBHOST01 at 192.0.2.10\n192.0.2.100 is fine\n")
    (tree / "b.txt").write_text(f"key {json.loads(mapping.read_text())['key']}\n")
    result = run_pa("verify", "--leaks", "--map", str(mapping), str(tree))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "a.log:2: original_hostname",
        "a.log:2: original_ip",
        "b.txt:1: obfuscation_map_key",
    ]
    assert "dbhost01" not in result.stdout.lower()


def test_leak_lines_are_right_whatever_the_chunking() -> None:
    lines = [b"plain line %d" % i for i in range(200)]
    lines[17] = b"token=Abcdef123456"
    lines[150] = b"-----BEGIN EC PRIVATE KEY-----"
    lines[151] = b"MHcCAQEEIK"
    data = b"\n".join(lines) + b"\n"
    expected = {Leak(18, "secret_key_value"), Leak(152, "pem_private_key")}
    rng = random.Random(5)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), 30))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert expected <= set(scan_bytes_stream(chunks, installed_rules()))


def test_a_masked_private_key_is_no_leak() -> None:
    redacted = redact_bytes(b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")[0]
    assert list(scan_bytes_stream([redacted], installed_rules())) == []
    escaped = b'{"key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"}\n'
    assert Leak(1, "pem_private_key") in set(scan_bytes_stream([escaped], installed_rules()))


def test_verify_usage_errors(tmp_path: Path, run_pa: RunPa) -> None:
    missing = run_pa("verify", "--leaks", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    folder = run_pa("verify", str(tmp_path))
    assert folder.returncode == 2 and "--leaks scans folders" in folder.stderr
    stray_map = run_pa("verify", "--map", str(tmp_path / "m"), str(tmp_path))
    assert stray_map.returncode == 2 and no_traceback(stray_map)
