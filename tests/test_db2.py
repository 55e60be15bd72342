"""The db2 plugin: parsers on fixture text and on the real samples, and the
installed pa-collect end to end against a fake Db2 11.5.9.0 installation."""

from __future__ import annotations

import base64
import io
import json
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from collector.plugins import db2, db2_parse
from conftest import CUSTOMER, DATA, FakeHost, RunPa, extract, only_bundle, samples_dir
from jsonschema import Draft202012Validator

from collector.host import Host
from collector.logwindow import window_start
from collector.plugin import Context
from collector.redact import BASELINE_RULES, redact_bytes
from collector.spec import CommandSpec, FileSpec

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "schemas" / "facts_db2.schema.json").read_text()
)
FIXTURE = DATA / "db2"
HOME = "/home/db2inst1"
DIAG = f"{HOME}/sqllib/db2dump/DIAG0000"
INSTANCE_USERS = ("db2inst1", "db2inst2")
PLANTED = [
    "PLANTED-DB2-CLI-01",
    "PLANTED-DB2-DSDRIVER-02",
    "PLANTED-DB2-DSDRIVER-03",
    "PLANTED-DB2-TSM-04",
    "PLANTED-DB2-P12-05",
    "PLANTED-DB2-STH-06",
    "PLANTED-DB2-KDB-07",
    "PLANTED-DB2-STH-08",
    "PLANTED-DB2-TRAP-09",
    "PLANTED-DB2-DUMP-10",
    "PLANTED-DB2-FODC-11",
    "PLANTED-DB2-DIAG-12",
]
SECRET_FILES = {
    f"{HOME}/keystore/db2inst1_keystore.p12",
    f"{HOME}/keystore/db2inst1_keystore.sth",
    f"{HOME}/ssl/server.kdb",
    f"{HOME}/ssl/server.sth",
}


def schema_errors(facts: dict[str, Any]) -> list[str]:
    validator = Draft202012Validator(SCHEMA)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(facts)]


# --- db2diag.log records ---------------------------------------------------------


def test_db2diag_fixture_records_have_level_message_id_and_zone() -> None:
    data = (FIXTURE / f"sysroot{DIAG}/db2diag.log").read_bytes()
    records = db2_parse.parse_db2diag(data)
    assert [r.level for r in records] == ["Severe", "Error", "Warning"]
    assert [r.message_id for r in records] == ["SQLO_NOMEM", "ECF_ACCESS_DENIED", "ADM12500E"]
    assert records[0].timestamp == datetime(
        2025, 11, 20, 10, 15, 32, 120001, tzinfo=timezone(timedelta(hours=1))
    )
    # A record is everything up to the next header, continuation lines included.
    assert records[2].text.endswith("dbhost02.example.com:55001")
    assert "the primary database." in records[2].text
    assert b"".join(r.text.encode() + b"\n\n" for r in records) == data


@pytest.mark.parametrize(
    ("zone", "minutes"), [("+120", 120), ("-300", -300), ("+000", 0), ("+330", 330)]
)
def test_db2diag_zone_offset_is_in_minutes(zone: str, minutes: int) -> None:
    header = f"2026-03-01-12.00.00.000001{zone} I1E200            LEVEL: Info\n".encode()
    (record,) = db2_parse.parse_db2diag(header + b"PID     : 1\n")
    assert record.timestamp is not None
    assert record.timestamp.utcoffset() == timedelta(minutes=minutes)
    assert record.timestamp.hour == 12


def test_db2diag_old_header_without_zone_is_local_time_and_adm_code_is_the_id() -> None:
    text = (
        b"2006-02-15-19.33.37.630000   Instance:DB2   Node:000\n"
        b"PID:940(db2sysc) TID: 660   Appid:*LOCAL.DB2.020205091435\n"
        b"recovery manager  sqlpresr Probe:1   Database:SAMPLE\n"
        b"ADM1530E  Crash recovery has been initiated.\n"
    )
    (record,) = db2_parse.parse_db2diag(text)
    assert record.level is None and record.message_id == "ADM1530E"
    assert record.timestamp is not None and record.timestamp.tzinfo is not None
    assert record.timestamp.replace(tzinfo=None) == datetime(2006, 2, 15, 19, 33, 37, 630000)


def test_db2diag_non_utf8_record_parses_without_mangling_bytes() -> None:
    raw = (
        b"2026-03-01-12.00.00.000001+060 I1E200            LEVEL: Error\n"
        b"MESSAGE : ADM5501I  Table \xc4NDERUNG in code page 819: caf\xe9 \xff\n"
    )
    (record,) = db2_parse.parse_db2diag(raw + b"\n")
    assert record.message_id == "ADM5501I"
    assert record.text.encode("utf-8", errors="surrogateescape") == raw.rstrip(b"\n")


def test_db2diag_line_starting_with_a_date_inside_a_record_is_not_a_header() -> None:
    text = (
        b"2026-03-01-12.00.00.000001+060 I1E200            LEVEL: Info\n"
        b"DATA #1 : String, 26 bytes\n"
        b"2026-03-01-11.59.59.000000\n"
    )
    assert len(db2_parse.parse_db2diag(text)) == 1


def test_real_db2diag_container_sample() -> None:
    records = db2_parse.parse_db2diag(
        (samples_dir("db2") / "db2diag_db2_11.5.8_container.log").read_bytes()
    )
    assert len(records) == 5
    assert [r.level for r in records] == ["Warning", "Event", "Event", "Warning", "Error"]
    ids = [r.text.split()[1] for r in records]
    assert ids == ["I465616E393", "I466010E1182", "I467193E1270", "I468464E393", "I468858E460"]
    utc = timezone(timedelta(0))
    assert records[0].timestamp == datetime(2025, 9, 1, 4, 1, 42, 935663, tzinfo=utc)
    assert records[-1].timestamp == datetime(2025, 9, 1, 4, 3, 37, 960445, tzinfo=utc)
    assert records[-1].message_id == "SQLE_CA_BUILT"
    assert [("DB   : SAMPLE" in r.text) for r in records] == [False] * 4 + [True]
    assert sum(r.text.count("PD_DB2_TYPE_SQLCA") for r in records) == 4


def test_real_db2diag_levels_sample() -> None:
    records = db2_parse.parse_db2diag(
        (samples_dir("db2") / "db2diag_rsyslog_levels.log").read_bytes()
    )
    assert len(records) == 9
    assert [r.level for r in records] == [
        "Critical",
        "Alert",
        "Severe",
        "Error",
        "Warning",
        "Event",
        "Info",
        "Debug",
        "Info",
    ]
    assert {r.timestamp.utcoffset() for r in records if r.timestamp} == {timedelta(minutes=120)}
    assert [f"PID     : {4390941 + n}" in records[n].text for n in range(8)] == [True] * 8
    assert records[8].text.count("\n") == 0  # the last one is a header line only


def test_real_db2diag_doc_record() -> None:
    (record,) = db2_parse.parse_db2diag(
        (samples_dir("db2") / "db2diag_rsyslog_doc_record.log").read_bytes()
    )
    assert record.level == "Info"
    assert record.message_id == "SQLP_NOTA"
    assert "EDUNAME: db2agent (DBTEST) 0" in record.text
    assert sum(f"  [{n}] 0x" in record.text for n in range(14)) == 14
    assert record.text.count("\t") == 1


class CountingStream(io.BytesIO):
    """Counts the bytes the log window reads."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.consumed += len(data)
        return data


def test_window_start_on_db2diag_bisects_instead_of_reading_the_log() -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone(timedelta(minutes=60)))
    records = [
        _diag_record(
            start + timedelta(minutes=n), "Info", f"MESSAGE : ADM7{n % 1000:03d}I  x", "x" * 400
        )
        for n in range(8000)
    ]
    data = b"".join(records)
    stream = CountingStream(data)
    offset = window_start(
        stream, len(data), db2_parse.Db2DiagFormat(), start + timedelta(minutes=6000)
    )
    assert offset == len(b"".join(records[:6000]))
    assert stream.consumed < len(data) / 20, (stream.consumed, len(data))


# --- command output parsers --------------------------------------------------------


def test_real_db2level_sample() -> None:
    level = db2_parse.parse_db2level((samples_dir("db2") / "db2level_11.1.3.3.txt").read_text())
    assert level == {
        "instance": "db2inst1",
        "bits": "64",
        "code_release": "SQL11013",
        "level_identifier": "0204010F",
        "tokens": ["DB2 v11.1.3.3", "s1807091300", "DYN1807091300AMD64"],
        "version": "11.1.3.3",
        "build_level": "s1807091300",
        "build_id": "DYN1807091300AMD64",
        "fix_pack": "3b",
        "install_path": "/opt/ibm/db2/V11.1",
    }


def test_db2level_special_build_token() -> None:
    text = (
        'Informational tokens are "DB2 v11.5.8.0", "special_36512",\n'
        '"DYN2212141409AMD64_36512", and Fix Pack "0".\n'
    )
    level = db2_parse.parse_db2level(text)
    assert level["version"] == "11.5.8.0" and level["special_build"] == "special_36512"


def test_real_db2licm_sample() -> None:
    products = db2_parse.parse_db2licm((samples_dir("db2") / "db2licm_l.txt").read_text())
    assert len(products) == 2
    ese, connect = products
    assert ese["product_name"] == "DB2 Enterprise Server Edition"
    assert ese["product_identifier"] == "db2ese"
    assert ese["version_information"] == "9.7"
    assert ese["expiry_date"] == "Permanent"
    assert ese["license_type"] == "CPU Option"
    assert list(ese["features"].values()) == ["Not licensed"] * 4
    assert connect["product_identifier"] == "db2consv"
    assert connect["expiry_date"] == "Expired"
    assert connect["concurrent_connect_user_policy"] == "Disabled"


def test_real_db2ls_sample() -> None:
    installs = db2_parse.parse_db2ls((samples_dir("db2") / "db2ls_a_c.txt").read_text())
    assert [(i["path"], i["version"], i["fix_pack"]) for i in installs] == [
        ("/opt/ibm/db2/V11.5", "11.5.6.0", "0"),
        ("/opt/ibm/db2/V11.5_01", "11.5.7.0", "0"),
    ]
    assert installs[0]["install_time"] == "Fri Jan 14 20:20:07 2022 CST"
    assert installs[0]["installer_uid"] == "0"


def test_real_db_cfg_sample() -> None:
    text = (samples_dir("db2") / "db_cfg_SAMPLE_11.5.8.txt").read_text()
    cfg = db2_parse.parse_cfg(text)
    assert len(cfg) == 176
    assert sum(key.isupper() and " " not in key for key in cfg) == 149
    assert cfg["Database release level"] == "0x1500"
    assert cfg["Database page size"] == "8192"
    assert cfg["Database code set"] == "UTF-8"
    assert (cfg["LOGFILSIZ"], cfg["LOGPRIMARY"], cfg["LOGSECOND"]) == ("1024", "16", "22")
    assert cfg["LOCKTIMEOUT"] == "-1"
    assert cfg["LOGARCHMETH1"] == "DISK:/database/logs/"
    assert cfg["SELF_TUNING_MEM"] == "ON"
    assert cfg["HADR database role"] == "STANDARD"
    assert cfg["HADR_SYNCMODE"] == "NEARSYNC"
    assert cfg["First active log file"] == "S0000002.LOG"
    # The keyword is the last (PARAM) before `=`, also without a space before it.
    assert cfg["SHEAPTHRES_SHR"] == "AUTOMATIC(5000)"
    assert cfg["NUM_LOG_SPAN"] == "0"
    assert cfg["INDEXREC"] == "SYSTEM (RESTART)"
    assert cfg["NEWLOGPATH"] == ""


def test_real_abridged_db_cfg_sample_has_no_log_parameters() -> None:
    cfg = db2_parse.parse_cfg(
        (samples_dir("db2") / "db_cfg_TESTD1_insights_abridged.txt").read_text()
    )
    assert len(cfg) == 37
    assert cfg["Database page size"] == "4096"
    assert cfg["Database code set"] == "UTF-8"
    assert cfg["Database release level"] == "0x1500"
    assert cfg["DFT_QUERYOPT"] == "5"
    assert not [key for key in cfg if key.startswith("LOG")]


def test_real_dbm_cfg_sample_and_its_resolved_diagpath() -> None:
    dbm = db2_parse.parse_cfg((samples_dir("db2") / "dbm_cfg_insights_abridged.txt").read_text())
    assert dbm["Node type"] == "Enterprise Server Edition with local and remote clients"
    assert dbm["NUMDB"] == "32" and dbm["DIAGLEVEL"] == "3"
    assert dbm["DIAGPATH"] == "/home/dbp/sqllib/db2dump/ $m"
    assert dbm["CUR_EFF_CODE_LVL"] == "V:11 R:5 M:9 F:0 I:0 SB:0"
    assert dbm["Database manager configuration release level"] == "0x1500"
    assert db2_parse.resolve_diagpath(dbm, "/home/dbp") == {
        "configured": "/home/dbp/sqllib/db2dump/ $m",
        "member_resolved": "/home/dbp/sqllib/db2dump/DIAG0000/",
        "resolved": "/home/dbp/sqllib/db2dump/DIAG0000",
        "source": "Current member resolved DIAGPATH",
    }


@pytest.mark.parametrize(
    ("configured", "resolved", "source"),
    [
        ("", f"{HOME}/sqllib/db2dump", "default ~owner/sqllib/db2dump"),
        ("$h/db2dump", f"{HOME}/sqllib/db2dump", "default ~owner/sqllib/db2dump"),
        ("/db2/diag/", "/db2/diag", "DIAGPATH"),
        ("/db2/diag/ $m", "/db2/diag", "DIAGPATH"),
    ],
)
def test_diagpath_falls_back_to_the_instance_default(
    configured: str, resolved: str, source: str
) -> None:
    found = db2_parse.resolve_diagpath({"DIAGPATH": configured}, HOME)
    assert (found["resolved"], found["source"]) == (resolved, source)


def test_real_db2pd_hadr_sample() -> None:
    text = (samples_dir("db2") / "db2pd_hadr_HATEST_primary.txt").read_text()
    pairs = db2_parse.parse_db2pd_pairs(text)
    assert len(pairs) == 43
    assert pairs["HADR_ROLE"] == "PRIMARY" and pairs["HADR_STATE"] == "PEER"
    assert pairs["HADR_SYNCMODE"] == "NEARSYNC"
    assert pairs["HADR_CONNECT_STATUS"] == "CONNECTED"
    assert pairs["PRIMARY_MEMBER_HOST"] == "alpha" and pairs["STANDBY_MEMBER_HOST"] == "beta"
    assert pairs["PEER_WINDOW(seconds)"] == "7200"
    assert pairs["HADR_LOG_GAP(bytes)"] == "0"
    assert pairs["READS_ON_STANDBY_ENABLED"] == "N"
    assert pairs["LOG_HADR_WAIT_CUR(seconds)"] == "0,000"
    assert db2_parse.parse_db2pd_banner(text) == {
        "member": "0",
        "database": "HATEST",
        "state": "Active",
        "uptime": "0 days 00:00:47",
        "date": "2018-10-12-14.38.48.516301",
    }


def test_real_db2pd_logs_sample() -> None:
    text = (samples_dir("db2") / "db2pd_logs_SAMPLE.txt").read_text()
    logs = db2_parse.parse_db2pd_logs(text)
    assert logs["Current Log Number"] == "1"
    assert logs["Pages Written"] == "71"
    assert logs["Current LSO"] == "53279365"
    assert logs["Current LSN"] == "0x000000000004809A"
    names = [f["filename"] for f in logs["log_files"]]
    assert names == [f"S{n:07d}.LOG" for n in range(1, 17)]
    assert [f["filename"] for f in logs["log_files"] if set(f["start_lsn"]) != {"0"}] == [
        "S0000001.LOG"
    ]
    assert logs["log_files"][0]["start_lsn"] == "0000000000047ABD"
    banner = db2_parse.parse_db2pd_banner(text)
    assert banner is not None and banner["database"] == "SAMPLE"
    assert banner["date"] == "2025-09-01-04.33.33.910169"


def _fake(command: str, *args: str) -> str:
    """Output of one of the fake Db2 commands (checked here against the parsers)."""
    env = {"PATH": "/usr/bin:/bin", "DB2INSTANCE": "db2inst1"}
    run = subprocess.run(
        [str(FIXTURE / "bin" / command), *args], capture_output=True, text=True, env=env
    )
    return run.stdout


def test_fake_commands_print_what_the_parsers_read() -> None:
    directory = db2_parse.parse_db_directory(_fake("db2", "list", "db", "directory"))
    assert len(directory) == 3
    assert db2.local_databases(directory) == [("SAMPLE", "SAMPLE"), ("PRODDB", "PRODDB")]
    osinfo = db2_parse.parse_db2pd_osinfo(_fake("db2pd", "-osinfo"))
    assert osinfo["OSName"] == "Linux" and osinfo["NodeName"] == "dbhost01"
    assert osinfo["CPU Information"]["TotalCPU"] == "8"
    assert osinfo["Physical Memory and Swap (Megabytes)"]["TotalMem"] == "31890"
    assert db2_parse.db2pd_state(_fake("db2pd", "-osinfo")) == "active"
    assert db2_parse.db2pd_state(_fake("db2pd", "-logs", "-db", "NOSUCH")) == "inactive"
    assert db2_parse.db2pd_state("Unable to attach to database manager on member 0.\n") == "stopped"
    registry = db2_parse.parse_db2set(_fake("db2set", "-all"))
    assert {"scope": "i", "name": "DB2COMM", "value": "TCPIP"} in registry
    assert db2_parse.parse_db2ilist(_fake("db2ilist")) == ["db2inst1"]
    nodes = (FIXTURE / f"sysroot{HOME}/sqllib/db2nodes.cfg").read_text()
    assert db2_parse.parse_db2nodes(nodes) == [
        {"member": "0", "host": "dbhost01", "logical_port": "0"}
    ]


# --- secrets -----------------------------------------------------------------------


def test_keystores_are_named_only_when_the_denylist_refuses_them() -> None:
    dbm = {
        "KEYSTORE_LOCATION": f"{HOME}/keystore/ks.p12",
        "SSL_SVR_KEYDB": f"{HOME}/ssl/server.kdb",
        "SSL_SVR_STASH": f"{HOME}/ssl/server.sth",
    }
    specs = db2.keystore_specs("db2inst1", dbm)
    assert {s.path for s in specs if isinstance(s, FileSpec)} == {
        f"{HOME}/keystore/ks.p12",
        f"{HOME}/keystore/ks.sth",
        f"{HOME}/ssl/server.kdb",
        f"{HOME}/ssl/server.sth",
    }
    # A KMIP keystore is a configuration file the denylist cannot recognise: not offered.
    assert db2.keystore_specs("db2inst1", {"KEYSTORE_LOCATION": "/db2/kmip/kmip.cfg"}) == []


def test_cfg_password_lines_are_masked_by_the_plugin_rule() -> None:
    text = (
        b" TSM password                             (TSM_PASSWORD) = s3cr3t value\n"
        b" TSM owner                                   (TSM_OWNER) = db2inst1\n"
        b" Client Userid-Password Plugin          (CLNT_PW_PLUGIN) = IBMOSauthclient\n"
        b" TSM password                             (TSM_PASSWORD) = \n"
    )
    baseline, _ = redact_bytes(text, BASELINE_RULES)
    assert b"s3cr3t" in baseline  # why the plugin needs its own rule
    redacted, hits = redact_bytes(text, (*BASELINE_RULES, *db2.Db2.redaction_rules))
    assert hits == 1
    assert redacted == text.replace(b"s3cr3t value", b"********")


def test_dsdriver_password_attributes_are_masked_by_the_core_rule() -> None:
    data = (FIXTURE / f"sysroot{HOME}/sqllib/cfg/db2dsdriver.cfg").read_bytes()
    redacted, hits = redact_bytes(data, BASELINE_RULES)
    assert hits == 2
    assert b"PLANTED" not in redacted
    assert b'<parameter name="Password" value="********"/>' in redacted
    assert b'<parameter name="UserID" value="appuser"/>' in redacted


# --- detection and discovery ---------------------------------------------------------


def _context(sysroot: Path, **env: str) -> Context:
    return Context(host=Host(sysroot=sysroot, env={"PATH": str(sysroot / "nobin"), **env}))


def test_applies_on_an_install_directory_and_says_what_it_looked_for(tmp_path: Path) -> None:
    plugin = db2.Db2()
    answer = plugin.applies(_context(tmp_path).host)
    assert not answer.applies
    for looked_for in ("db2ls", "/var/db2/global.reg", "$DB2INSTANCE", "/opt/ibm/db2/V*"):
        assert looked_for in answer.reason
    (tmp_path / "opt/ibm/db2/V11.5").mkdir(parents=True)
    answer = plugin.applies(_context(tmp_path).host)
    assert answer.applies and "/opt/ibm/db2/V11.5" in answer.reason


def test_instances_are_found_from_homes_with_sqllib_and_bounded(tmp_path: Path) -> None:
    lines = [f"db2i{n:02d}:x:{62000 + n}:62000::/home/db2i{n:02d}:/bin/sh" for n in range(12)]
    lines.append("nosqllib:x:63000:63000::/home/nosqllib:/bin/sh")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("\n".join(lines) + "\n")
    for n in range(12):
        (tmp_path / f"home/db2i{n:02d}/sqllib").mkdir(parents=True)
    (tmp_path / "home/nosqllib").mkdir(parents=True)
    found = db2.find_instances(_context(tmp_path, DB2INSTANCE="db2i05"))
    assert [i.name for i in found] == [f"db2i{n:02d}" for n in range(10)]
    assert found[5].found_by == ("instance home", "$DB2INSTANCE")
    assert (found[0].owner, found[0].home) == ("db2i00", "/home/db2i00")
    specs = db2.Db2().specs(_context(tmp_path))
    commands = [s for s in specs if isinstance(s, CommandSpec) and s.name.startswith("db2i03.")]
    assert {s.run_as for s in commands} == {"db2i03"}
    assert {s.env["DB2INSTANCE"] for s in commands} == {"db2i03"}


def test_owner_is_the_user_owning_sqllib_else_the_instance_name(tmp_path: Path) -> None:
    owner_uid = os.getuid() or 64000  # root owns nothing here: hand sqllib to a user
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "db2inst1:x:64001:64001::/home/db2inst1:/bin/sh\n"
        f"db2svc:x:{owner_uid}:64000::/srv/db2svc:/bin/sh\n"
    )
    sqllib = tmp_path / "home/db2inst1/sqllib"
    sqllib.mkdir(parents=True)
    if os.geteuid() == 0:
        os.chown(sqllib, owner_uid, owner_uid)
    (found,) = db2.find_instances(_context(tmp_path))
    assert (found.name, found.owner, found.home) == ("db2inst1", "db2svc", "/home/db2inst1")
    # An instance chosen by name whose home is unknown: the owner is the instance name.
    (chosen,) = db2.find_instances(
        Context(host=_context(tmp_path).host, selection={"instance": "db2inst9"})
    )
    assert (chosen.owner, chosen.home, chosen.found_by) == ("db2inst9", None, ("--instance",))


def test_dump_listing_keeps_the_newest_and_reads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db2, "MAX_LISTED", 2)
    diag = tmp_path / "diag"
    diag.mkdir()
    for age, name in enumerate(["c.trap.txt", "b.dump.bin", "a.trap.txt", "db2diag.log"]):
        (diag / name).write_text("secret-ish body")
        os.utime(diag / name, (1_700_000_000 - age * 60, 1_700_000_000 - age * 60))
    (diag / "FODC_Panic_2026-01-01-00.00.00.000000_0000/sub").mkdir(parents=True)
    for n in range(3):
        (diag / f"FODC_Panic_2026-01-01-00.00.00.000000_0000/sub/{n}.txt").write_text("xx")
    listing = db2.list_dumps("/diag", Host(sysroot=tmp_path))
    assert [d["name"] for d in listing["dumps"]] == ["b.dump.bin", "c.trap.txt"]
    assert listing["dumps"][1] == {
        "name": "c.trap.txt",
        "bytes": 15,
        "mtime": "2023-11-14T22:13:20Z",
    }
    (fodc,) = listing["fodc"]
    assert (fodc["files"], fodc["bytes"], fodc["names"]) == (3, 6, ["sub/0.txt", "sub/1.txt"])
    assert "secret" not in json.dumps(listing)
    assert db2.list_dumps("/missing", Host(sysroot=tmp_path))["error"]


# --- end to end -------------------------------------------------------------------------


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="module")
def instance_users() -> Iterator[bool]:
    """As root, pa-collect runs instance commands through `su - owner`: the fake
    instances need real owners. Not root: commands run as the caller."""
    if os.geteuid() != 0:
        yield False
        return
    taken = [name for name in INSTANCE_USERS if _user_exists(name)]
    if taken:
        pytest.skip(f"real user(s) {taken} exist here; the fake Db2 tests will not reuse them")
    created = []
    try:
        for name in INSTANCE_USERS:
            subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True, timeout=60)
            created.append(name)
        yield True
    finally:
        for name in created:
            subprocess.run(["userdel", "-r", name], capture_output=True, timeout=60)


def _give_commands(fake_bin: Path, user: str) -> None:
    """The user's login shell finds the fake Db2 commands first, as db2profile
    would put sqllib/bin first; the real fake bin is not readable by the user."""
    entry = pwd.getpwnam(user)
    home = Path(entry.pw_dir)
    target = home / "bin"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(fake_bin, target, symlinks=True)
    profile = home / ".profile"
    profile.write_text(f'PATH="$HOME/bin:$PATH"\nDB2INSTANCE={user}\nexport PATH DB2INSTANCE\n')
    for path in [target, profile, *target.iterdir()]:
        os.lchown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Db2Host:
    host: FakeHost
    run_pa: RunPa
    as_root: bool

    @property
    def diag(self) -> Path:
        return self.host.sysroot / DIAG.lstrip("/")

    def add_instance(self, name: str) -> None:
        with (self.host.sysroot / "etc/passwd").open("a") as passwd:
            passwd.write(f"{name}:x:61010:61010::/home/{name}:/bin/bash\n")
        (self.host.sysroot / f"home/{name}/sqllib").mkdir(parents=True)

    def collect(self, *args: str) -> tuple[dict[str, Any], Path]:
        """One collection (`--product db2`) on the fake host; the extracted bundle."""
        if self.as_root:
            for user in INSTANCE_USERS:
                _give_commands(self.host.bin, user)
        result = self.run_pa(
            "--product",
            "db2",
            "--batch",
            "--json",
            "--sysroot",
            str(self.host.sysroot),
            "--output",
            str(self.host.out),
            *CUSTOMER,
            *args,
            env=self.host.env(),
        )
        assert result.returncode == 0, result.stderr
        target = self.host.out.parent / "extracted"
        manifest = extract(only_bundle(self.host.out), target)
        return manifest, target


@pytest.fixture
def fake_db2(product_host: Any, run_pa: RunPa, instance_users: bool) -> Db2Host:
    host = product_host("db2")
    if instance_users:
        # `su` is all pa-collect needs from the real PATH to switch users.
        (host.bin / "su").symlink_to(shutil.which("su") or "/bin/su")
    return Db2Host(host, run_pa, instance_users)


def _items(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Items by spec name (a log glob's files share one name: see _logs)."""
    return {i["name"]: i for i in manifest["items"] if i["plugin"] == "db2"}


def _logs(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        i["source"]: i for i in manifest["items"] if i["plugin"] == "db2" and i["kind"] == "log"
    }


def _encodings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw)]


def test_fake_installation_gives_the_expected_facts(fake_db2: Db2Host) -> None:
    manifest, _ = fake_db2.collect("--since", "all")
    facts = manifest["facts"]["db2"]
    assert schema_errors(facts) == []
    assert facts["product"] == "IBM Db2"
    assert facts["version"] == "11.5.9.0"
    assert facts["fix_pack"] == "0"
    assert facts["special_build"] is None
    assert facts["build_level"] == "s2310270807"
    assert facts["code_release"] == "SQL11059"
    assert facts["install_path"] == "/opt/ibm/db2/V11.5"
    assert facts["installations"][0]["version"] == "11.5.9.0"
    assert facts["diagpath"] == DIAG
    assert [p["product_identifier"] for p in facts["license"]] == ["db2ese"]
    assert facts["license"][0]["license_type"] == "Virtual Processor Core"
    assert facts["license"][0]["expiry_date"] == "Permanent"
    (instance,) = facts["instances"]
    assert instance["name"] == "db2inst1" and instance["owner"] == "db2inst1"
    assert instance["collected"] and instance["state"] == "active"
    assert instance["found_by"] == ["instance home"]
    assert instance["databases"] == ["SAMPLE", "PRODDB"]
    assert instance["diagpath"]["configured"] == f"{HOME}/sqllib/db2dump/ $m"
    assert instance["dbm_cfg"]["keystore_type"] == "PKCS12"
    assert instance["registry"]["DB2COMM"] == "TCPIP"
    assert instance["members"] == [{"member": "0", "host": "dbhost01", "logical_port": "0"}]
    databases = {d["name"]: d for d in facts["databases"]}
    assert set(databases) == {"SAMPLE", "PRODDB"}  # REMOTEDB is a catalog entry
    assert databases["SAMPLE"]["config"]["LOGFILSIZ"] == "4096"
    assert databases["SAMPLE"]["hadr"] is None
    assert databases["PRODDB"]["hadr"]["state"] == "PEER"
    assert databases["PRODDB"]["hadr"]["role"] == "PRIMARY"
    assert databases["PRODDB"]["config"]["Database page size"] == "32768"
    assert databases["PRODDB"]["logs"] == {
        "current_log_number": "117",
        "current_lsn": "0x00000000006A3F21",
        "log_files": 3,
    }
    assert {d["state"] for d in facts["databases"]} == {"active"}


def test_fake_installation_bundle_has_commands_logs_and_no_secrets(fake_db2: Db2Host) -> None:
    manifest, root = fake_db2.collect("--since", "all")
    items = _items(manifest)
    commands = {
        "db2level",
        "db2licm -l",
        "db2ls -a -c",
        "db2ilist",
        "db2set -all",
        "db2 get dbm cfg",
        "db2 list db directory",
        "db2pd -osinfo",
        *(f"db2 get db cfg for {db}" for db in ("SAMPLE", "PRODDB")),
        *(f"db2pd -{what} -db {db}" for db in ("SAMPLE", "PRODDB") for what in ("hadr", "logs")),
    }
    ran = {i["source"]: i for i in items.values() if i["kind"] == "command"}
    assert set(ran) == commands
    assert {i["outcome"] for i in ran.values()} == {"ok"}
    logs = _logs(manifest)
    assert set(logs) == {f"{DIAG}/{n}" for n in ("db2diag.log", "db2diag.0.log", "db2inst1.nfy")}
    diag = (root / logs[f"{DIAG}/db2diag.log"]["path"]).read_bytes()
    assert len(db2_parse.parse_db2diag(diag)) == 3 and b"PWD=********;" in diag
    files = {i["source"]: i for i in items.values() if i["kind"] == "file" and i["path"]}
    assert set(files) == {f"{HOME}/sqllib/{f}" for f in db2.SQLLIB_FILES}
    dsdriver = (root / files[f"{HOME}/sqllib/cfg/db2dsdriver.cfg"]["path"]).read_text()
    assert '<parameter name="Password" value="********"/>' in dsdriver
    assert files[f"{HOME}/sqllib/cfg/db2cli.ini"]["redactions"] == 1
    db_cfg = (root / items["db2inst1.db2_get_db_cfg_for_PRODDB"]["path"]).read_text()
    assert "(TSM_PASSWORD) = ********\n" in db_cfg
    # The dump listing names what is there; it reads none of it.
    dumps = json.loads((root / items["db2inst1.dumps"]["path"]).read_text())
    assert [d["name"] for d in dumps["dumps"]] == ["31337.42.000.dump.bin", "31337.42.000.trap.txt"]
    (fodc,) = dumps["fodc"]
    assert fodc["name"].startswith("FODC_Trap_2025-11-20") and fodc["files"] == 2
    # Keystores are named, refused unread, and absent; no planted secret anywhere.
    secret = {i["source"]: i for i in items.values() if i.get("secret")}
    assert set(secret) == SECRET_FILES
    assert all(i["outcome"] == "skipped" and i["path"] is None for i in secret.values())
    everything = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    for planted in PLANTED:
        for form in _encodings(planted):
            assert form not in everything, f"{planted} leaked"


ZONE = timezone(timedelta(minutes=-300))  # far from this host's zone: a misread zone shows


def _diag_record(moment: datetime, level: str, *body: str) -> bytes:
    local = moment.astimezone(ZONE)
    header = local.strftime("%Y-%m-%d-%H.%M.%S.%f") + "-300 I1E400            LEVEL: " + level
    lines = [header, "PID     : 4242                 TID : 1             PROC : db2sysc 0", *body]
    return ("\n".join(lines) + "\n\n").encode()


def _nfy_record(moment: datetime, message: str) -> bytes:
    """The older notification-log header: local time, no zone."""
    local = moment.astimezone().replace(tzinfo=None)
    header = local.strftime("%Y-%m-%d-%H.%M.%S.%f") + "   Instance:db2inst1   Node:000"
    return (f"{header}\nPID:4242(db2sysc 0)   TID:1   Appid:none\n{message}\n\n").encode()


def _write_logs(diag: Path, ages: list[timedelta]) -> tuple[list[bytes], list[bytes]]:
    now = datetime.now(ZONE)
    records = [
        _diag_record(
            now - age,
            "Error",
            f"MESSAGE : ADM{6000 + n}E  Record {n}, several lines long:",
            "DATA #1 : String, 20 bytes",
            f"record {n} data line",
        )
        for n, age in enumerate(ages)
    ]
    notes = [
        _nfy_record(now - age, f"ADM{7000 + n}W  Notification {n}.") for n, age in enumerate(ages)
    ]
    (diag / "db2diag.log").write_bytes(b"".join(records))
    (diag / "db2inst1.nfy").write_bytes(b"".join(notes))
    return records, notes


def test_since_1d_keeps_exactly_the_whole_records_in_the_window(fake_db2: Db2Host) -> None:
    ages = [timedelta(days=3), timedelta(hours=30), timedelta(hours=20), timedelta(hours=1)]
    records, notes = _write_logs(fake_db2.diag, ages)
    rotated = fake_db2.diag / "db2diag.0.log"
    two_days_ago = (datetime.now() - timedelta(days=2)).timestamp()
    os.utime(rotated, (two_days_ago, two_days_ago))
    manifest, root = fake_db2.collect("--since", "1d")
    logs = _logs(manifest)
    diag = logs[f"{DIAG}/db2diag.log"]
    assert (root / diag["path"]).read_bytes() == records[2] + records[3]
    assert diag["window_start"] == len(records[0] + records[1])
    nfy = logs[f"{DIAG}/db2inst1.nfy"]
    assert (root / nfy["path"]).read_bytes() == notes[2] + notes[3]
    old = logs[f"{DIAG}/db2diag.0.log"]
    assert old["outcome"] == "skipped" and "no record in the time window" in old["reason"]


def test_default_window_drops_records_older_than_14_days(fake_db2: Db2Host) -> None:
    ages = [timedelta(days=20), timedelta(days=15), timedelta(days=13), timedelta(hours=1)]
    records, notes = _write_logs(fake_db2.diag, ages)
    manifest, root = fake_db2.collect()
    logs = _logs(manifest)
    assert (root / logs[f"{DIAG}/db2diag.log"]["path"]).read_bytes() == records[2] + records[3]
    assert (root / logs[f"{DIAG}/db2inst1.nfy"]["path"]).read_bytes() == notes[2] + notes[3]
    assert manifest["options"]["since"] is not None


def test_instance_selection_collects_only_the_chosen_instance(fake_db2: Db2Host) -> None:
    fake_db2.add_instance("db2inst2")
    fake_db2.host.add_command("db2ilist", "echo db2inst1\necho db2inst2")
    manifest, root = fake_db2.collect("--instance", "db2inst2", "--since", "all")
    items = _items(manifest)
    per_instance = {name.split(".")[0] for name in items if name.startswith("db2inst")}
    assert per_instance == {"db2inst2"}
    level = (root / items["db2inst2.db2level"]["path"]).read_text()
    assert '"db2inst2") uses "64" bits' in level
    instances = {i["name"]: i for i in manifest["facts"]["db2"]["instances"]}
    assert instances["db2inst2"]["collected"] is True
    assert instances["db2inst2"]["diagpath"]["resolved"] == "/home/db2inst2/sqllib/db2dump/DIAG0000"
    assert instances["db2inst1"] == {
        "name": "db2inst1",
        "owner": None,
        "home": None,
        "found_by": ["db2ilist"],
        "collected": False,
        "state": "unknown",
        "license": [],
        "diagpath": {"configured": None, "member_resolved": None, "resolved": None, "source": None},
        "databases": [],
    }
    assert schema_errors(manifest["facts"]["db2"]) == []


def test_database_selection_collects_only_the_chosen_database(fake_db2: Db2Host) -> None:
    manifest, _ = fake_db2.collect("--database", "proddb", "--since", "all")
    sources = {i["source"] for i in _items(manifest).values() if i["kind"] == "command"}
    assert {s for s in sources if "-db " in s or " for " in s} == {
        "db2 get db cfg for PRODDB",
        "db2pd -hadr -db PRODDB",
        "db2pd -logs -db PRODDB",
    }
    collected = {d["name"]: d["collected"] for d in manifest["facts"]["db2"]["databases"]}
    assert collected == {"SAMPLE": False, "PRODDB": True}


def test_instance_commands_run_as_the_instance_owner_when_root(
    run_pa: RunPa, tmp_path: Path
) -> None:
    """A real unprivileged user with a fake sqllib in its real home, on this very
    machine (no sysroot): instance commands must run as that user."""
    if os.geteuid() != 0:
        pytest.skip("needs root: pa-collect only switches to the instance owner when run as root")
    user = "pacdb2t7"
    if _user_exists(user):
        pytest.skip(f"a real user {user} exists here; not touching it")
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", user], check=True, timeout=60)
    try:
        entry = pwd.getpwnam(user)
        home = Path(entry.pw_dir)
        (home / "sqllib/cfg").mkdir(parents=True)
        (home / "sqllib/db2nodes.cfg").write_text("0 localhost 0\n")
        os.chown(home / "sqllib", entry.pw_uid, entry.pw_gid)
        fake_bin = tmp_path / "bin"
        shutil.copytree(FIXTURE / "bin", fake_bin)
        whoami = '/bin/echo "ran as $(/usr/bin/id -un) for instance $DB2INSTANCE"'
        (fake_bin / "db2level").write_text(f"#!/bin/sh\n{whoami}\n")
        (fake_bin / "db2ls").write_text(f"#!/bin/sh\n{whoami}\n")
        (fake_bin / "db2ilist").write_text(f"#!/bin/sh\necho {user}\n")
        _give_commands(fake_bin, user)
        caller_bin = tmp_path / "caller-bin"
        caller_bin.mkdir()
        (caller_bin / "su").symlink_to(shutil.which("su") or "/bin/su")
        # Root finds db2ls on its PATH (/usr/local/bin), which is what detects Db2.
        shutil.copy(fake_bin / "db2ls", caller_bin / "db2ls")
        out = tmp_path / "out"
        out.mkdir()
        env = {"PATH": str(caller_bin), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
        result = run_pa(
            "--product", "db2", "--batch", "--json", "--output", str(out), *CUSTOMER, env=env
        )
        assert result.returncode == 0, result.stderr
        manifest = extract(only_bundle(out), tmp_path / "x")
        items = _items(manifest)
        assert items[f"{user}.db2level"]["outcome"] == "ok"
        text = (tmp_path / "x" / items[f"{user}.db2level"]["path"]).read_text()
        assert text == f"ran as {user} for instance {user}\n"
        text = (tmp_path / "x" / items["db2ls"]["path"]).read_text()
        assert text == f"ran as {user} for instance {user}\n"
        (instance,) = manifest["facts"]["db2"]["instances"]
        assert (instance["name"], instance["owner"]) == (user, user)
    finally:
        subprocess.run(["userdel", "-r", user], capture_output=True, timeout=60)
    assert not _user_exists(user)


def test_plugins_json_on_this_machine_says_db2_does_not_apply(
    run_pa: RunPa, tmp_path: Path
) -> None:
    real_path = os.environ.get("PATH", "/usr/bin:/bin")
    if shutil.which("db2ls", path=real_path) or list(Path("/opt/ibm/db2").glob("V*")):
        pytest.skip("Db2 is installed on this machine")
    result = run_pa("plugins", "--json", env={"PATH": real_path, "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    assert rows["db2"]["applies"] is False
    reason = rows["db2"]["reason"]
    for looked_for in ("command db2ls", "/var/db2/global.reg", "$DB2INSTANCE", "/opt/ibm/db2/V*"):
        assert looked_for in reason
