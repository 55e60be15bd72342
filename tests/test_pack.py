"""The packing step: the self-check reports what a redaction rule would still
mask in what was written (path, line, rule; never the value), and obfuscation
packs an obfuscated copy under an obfuscated name with its own size and sha256."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from collector.archive import BundleWriter
from collector.capture import Captured
from collector.host import Host
from collector.obfuscate import Obfuscator
from collector.pack import Packer
from collector.redact import BASELINE_RULES
from collector.runner import OK, ItemResult


def staged_item(staging: Path, bundle_path: str, data: bytes, kind: str = "file") -> ItemResult:
    target = staging / bundle_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    captured = Captured(len(data), hashlib.sha256(data).hexdigest(), len(data), False, {})
    return ItemResult("os", "item", kind, "/" + bundle_path, OK, None, bundle_path, captured)


def empty_manifest(result: ItemResult) -> dict[str, Any]:
    return {
        "redaction": {"rules": [], "total": 0},
        "warnings": [],
        "host": {"hostname": "dbhost01"},
        "items": [{"path": result.bundle_path, "source": result.source}],
    }


def test_a_secret_left_in_a_written_item_is_reported_without_its_value(tmp_path: Path) -> None:
    # The runner redacts before staging; staging a raw secret here stands for a
    # redactor bug that the self-check must catch.
    staging = tmp_path / "staging"
    result = staged_item(staging, "os/files/etc/app.conf", b"name = app\npassword = Hunter2x\n")
    with BundleWriter(tmp_path / "b.7z") as writer:
        packer = Packer(writer, staging, BASELINE_RULES)
        packer.item(result)
        writer.drain()
        manifest = packer.manifest(empty_manifest(result))
        writer.finish(json.dumps(manifest).encode())
    check = manifest["redaction"]["self_check"]
    assert check["items"] == 2  # the item and the manifest
    assert {(x["path"], x["line"]) for x in check["leaks"]} == {("os/files/etc/app.conf", 2)}
    assert "Hunter2x" not in json.dumps(check)
    assert any("self-check" in warning for warning in manifest["warnings"])


def test_a_clean_item_passes_the_self_check(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    result = staged_item(staging, "os/files/etc/app.conf", b"password = ********\n")
    with BundleWriter(tmp_path / "b.7z") as writer:
        packer = Packer(writer, staging, BASELINE_RULES)
        packer.item(result)
        writer.drain()
        manifest = packer.manifest(empty_manifest(result))
        writer.finish(b"{}")
    assert manifest["redaction"]["self_check"]["leaks"] == []
    assert manifest["warnings"] == []


def test_obfuscated_items_are_packed_under_their_new_name_and_digest(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text("dbhost01\n")
    host = Host(sysroot=root, env={"HOME": str(tmp_path)})
    obfuscator = Obfuscator.from_options(host, {"hostnames"}, (), tmp_path / "map.json")
    staging = tmp_path / "staging"
    result = staged_item(staging, "os/files/dbhost01.log", b"started on dbhost01\n", kind="log")
    with BundleWriter(tmp_path / "b.7z") as writer:
        packer = Packer(writer, staging, BASELINE_RULES, obfuscator)
        assert not packer.streams  # every byte must pass the obfuscator
        packer.item(result)
        writer.drain()
        manifest = packer.manifest(empty_manifest(result))
        writer.finish(json.dumps(manifest).encode())
    (entry,) = manifest["items"]
    assert "dbhost01" not in json.dumps(manifest)
    assert not (staging / "os/files/dbhost01.log").exists()  # a log goes once packed
    listing = subprocess.run(
        ["7z", "x", "-so", str(tmp_path / "b.7z"), entry["path"]], capture_output=True, check=True
    ).stdout
    assert hashlib.sha256(listing).hexdigest() == entry["sha256"]
    assert len(listing) == entry["size"] and b"dbhost01" not in listing
