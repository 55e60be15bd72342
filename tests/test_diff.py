"""`pa-collect diff`: two snapshots of a fake Db2 host between which a db cfg
parameter, the fix pack and the error records changed."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_db2 import (  # noqa: F401 - instance_users and fake_db2 are fixtures
    DIAG,
    INSTANCE_USERS,
    PLANTED,
    ZONE,
    Db2Host,
    _diag_record,
    _give_commands,
    fake_db2,
    instance_users,
)
from test_snapshot import write_card

from collector.bundle import open_bundle
from collector.diff import diff_bundles


@pytest.fixture
def db2(request: pytest.FixtureRequest) -> Db2Host:
    """test_db2's fake Db2 11.5.9.0 installation (with real instance owners as root)."""
    host: Db2Host = request.getfixturevalue("fake_db2")
    return host


def db2_snapshot(db2: Db2Host, folder: Path) -> Path:
    if db2.as_root:  # the instance owner's login shell finds the fake commands
        for user in INSTANCE_USERS:
            _give_commands(db2.host.bin, user)
    write_card(db2.host.home)
    options = ["--batch", "--json", "--sysroot", str(db2.host.sysroot), "--output", str(folder)]
    result = db2.run_pa("snapshot", "--product", "db2", *options, env=db2.host.env())
    assert result.returncode == 0, result.stderr
    return Path(json.loads(result.stdout)["bundle"])


def edit(script: Path, old: str, new: str) -> None:
    text = script.read_text()
    assert text.count(old) == 1, old
    script.write_text(text.replace(old, new))


def diag_records(*levels: str) -> bytes:
    now = datetime.now(ZONE)
    return b"".join(
        _diag_record(now, level, f"MESSAGE : ADM{6000 + n}E  Fault {n}")
        for n, level in enumerate(levels)
    )


def test_diff_of_two_db2_snapshots_reports_exactly_what_changed(
    db2: Db2Host, tmp_path: Path
) -> None:
    folder, diag, fake_bin = tmp_path / "snapshots", db2.diag, db2.host.bin
    two_days_ago = time.time() - 2 * 86400
    os.utime(diag / "db2diag.0.log", (two_days_ago, two_days_ago))
    earlier = datetime.now(ZONE) - timedelta(minutes=1)
    (diag / "db2diag.log").write_bytes(_diag_record(earlier, "Warning", "MESSAGE : ADM1W  x"))
    a = db2_snapshot(db2, folder)

    edit(fake_bin / "db2", "db_cfg SAMPLE 8192 4096", "db_cfg SAMPLE 8192 8192")
    edit(fake_bin / "db2level", 'Fix Pack "0"', 'Fix Pack "1"')
    with (diag / "db2diag.log").open("ab") as log:
        log.write(diag_records("Severe", "Error", "Severe"))
    b = db2_snapshot(db2, folder)

    result = db2.run_pa("diff", str(a), str(b), "--json", env=db2.host.env())
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    assert (diff["a"]["path"], diff["b"]["path"]) == (str(a), str(b))
    assert diff["facts"] == [{"product": "db2", "fact": "fix_pack", "old": "0", "new": "1"}]
    assert diff["configuration"] == [
        {
            "product": "db2",
            "item": "db2inst1.db2_get_db_cfg_for_SAMPLE",
            "source": "db2 get db cfg for SAMPLE",
            "parameter": "LOGFILSIZ",
            "old": "4096",
            "new": "8192",
        }
    ]
    assert diff["files"] == {"added": [], "removed": []}
    assert diff["records"] == {
        "db2": {"Error": {"a": 0, "b": 1, "new": 1}, "Severe": {"a": 0, "b": 2, "new": 2}}
    }
    # Only host metrics move between two runs on one host; cumulative CPU time always does.
    assert {m["product"] for m in diff["metrics"]} == {"os"}
    assert any(m["metric"].startswith("cpu.times.") for m in diff["metrics"])

    text = db2.run_pa("diff", str(a), str(b), env=db2.host.env()).stdout
    assert "db2 fix_pack: 0 -> 1" in text
    assert "db2inst1.db2_get_db_cfg_for_SAMPLE LOGFILSIZ: 4096 -> 8192" in text
    assert "db2 Severe: 2 new (A 0, B 2)" in text and "Files: none" in text


def test_db2_snapshot_is_the_quick_profile_without_secrets(db2: Db2Host, tmp_path: Path) -> None:
    bundle = open_bundle(db2_snapshot(db2, tmp_path / "snapshots"))
    assert bundle.verify() == []
    sources = {i["source"] for i in bundle.manifest["items"] if i["plugin"] == "db2"}
    commands = {"db2level", "db2pd -", "db2 get dbm cfg", "db2 list db directory"}
    commands |= {f"db2 get db cfg for {db}" for db in ("SAMPLE", "PRODDB")}
    commands |= {f"db2pd -hadr -db {db}" for db in ("SAMPLE", "PRODDB")}
    logs = {f"{DIAG}/db2diag.log", f"{DIAG}/db2diag.0.log"}  # the newest two
    assert sources == commands | logs | {"fact:discovery"}
    facts = bundle.manifest["facts"]["db2"]
    assert (facts["version"], facts["fix_pack"]) == ("11.5.9.0", "0")
    assert facts["instances"][0]["state"] == "active"
    assert {d["name"]: d["hadr"] and d["hadr"]["state"] for d in facts["databases"]} == {
        "SAMPLE": None,
        "PRODDB": "PEER",
    }
    everything = b"".join(_read(bundle, name) for name in bundle.files())
    assert not [secret for secret in PLANTED if secret.encode() in everything]


def test_a_bundle_compared_with_itself_has_no_changes(db2: Db2Host, tmp_path: Path) -> None:
    bundle = open_bundle(db2_snapshot(db2, tmp_path / "snapshots"))
    diff = diff_bundles(bundle, bundle)
    empty: dict[str, Any] = {"added": [], "removed": []}
    assert (diff["facts"], diff["configuration"], diff["files"]) == ([], [], empty)
    assert (diff["records"], diff["metrics"]) == ({}, [])


def _read(bundle: Any, name: str) -> bytes:
    with bundle.read(name) as stream:
        data: bytes = stream.read()
    return data
