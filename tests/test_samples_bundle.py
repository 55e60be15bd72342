"""The real IBM-format samples of $PA_SAMPLES_DIR read through the bundle API.

Every sample file is packed into one bundle next to what a real collection on the
fake host wrote, with manifest items as the collector writes them (plugin,
format name and options, sha256, size). The engineer's side then reads it back
with open_bundle: logs through Bundle.records() (the owning plugin's LogFormat,
rebuilt from the manifest) and command outputs through Bundle.read() and the
plugins' parse functions. The counts are the ones SOURCES.md lists; the product
test files assert the same facts on the files directly.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from collector.plugins import db2_parse, domino_parse, informix_parse, mq_parse, websphere_parse
from conftest import (
    build_fake_host,
    collect_on,
    only_bundle,
    run_pa_command,
    samples_dir,
)

from collector.archive import write_bundle
from collector.bundle import Bundle, open_bundle
from collector.logwindow import Record
from collector.manifest import manifest_bytes
from collector.schema import schema_errors

PRODUCTS = ("db2", "mq", "was", "informix", "domino")


@dataclass(frozen=True)
class Sample:
    """One sample file as a bundle item: a log (with its format) or command output."""

    folder: str
    name: str
    plugin: str
    format: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    variant: str = ""  # a second item for the same file (other format options)

    @property
    def path(self) -> str:
        return str(PurePosixPath(self.plugin, "samples", self.variant, self.name))


LOGS = [
    Sample("db2", "db2diag_db2_11.5.8_container.log", "db2", "db2diag"),
    Sample("db2", "db2diag_rsyslog_levels.log", "db2", "db2diag"),
    Sample("db2", "db2diag_rsyslog_doc_record.log", "db2", "db2diag"),
    Sample("mq", "AMQERR01_mq7.5_linux_TESTV75_truncated.LOG", "mq", "mq_amqerr"),
    Sample("mq", "AMQERR01_mq9.0.5_aix_CRCORMESBRKAPP_truncated.LOG", "mq", "mq_amqerr"),
    Sample("mq", "beats_AMQERR01.LOG", "mq", "mq_amqerr"),
    Sample("mq", "beats_AMQERR01.LOG", "mq", "mq_amqerr", {"codepage": "cp850"}, "cp850"),
    Sample("mq", "beats_AMQERR01_QM1_head.log", "mq", "mq_amqerr", {"codepage": "cp1252"}),
    Sample("mq", "beats_AMQERR01_QM2_head.log", "mq", "mq_amqerr", {"codepage": "cp850"}),
    Sample("was", "SystemOut.log", "websphere", "websphere-systemout"),
    Sample("was", "SystemErr.log", "websphere", "websphere-systemout"),
    Sample("was", "startServer.log", "websphere", "websphere-systemout"),
    # onstat -m prints the tail of online.log, and oninit -v interleaves its lines.
    Sample("informix", "oninit_v_12.10.FC3IE_docker_build.txt", "informix", "informix_online_log"),
    Sample("informix", "onstat_m_11.50.FC8.txt", "informix", "informix_online_log"),
    Sample("domino", "domino-smtp_fail2ban.log", "domino", "domino-console"),
    Sample("domino", "domino_http_access_ncsa_ossec.log", "domino", "domino-http-access"),
]
PLUGIN_OF = dict(zip(PRODUCTS, ("db2", "mq", "websphere", "informix", "domino"), strict=True))


def samples_root() -> Path:
    """$PA_SAMPLES_DIR, with every product's folder (skips when unset)."""
    folders = [samples_dir(product) for product in PRODUCTS]
    return folders[0].parent


def all_samples(root: Path) -> list[Sample]:
    """The logs above, plus every other sample file as a command output."""
    logged = {(s.folder, s.name) for s in LOGS}
    outputs = [
        Sample(product, path.name, PLUGIN_OF[product])
        for product in PRODUCTS
        for path in sorted((root / product).iterdir())
        if path.is_file() and (product, path.name) not in logged
    ]
    return LOGS + outputs


def item(sample: Sample, source: Path) -> dict[str, Any]:
    data = source.read_bytes()
    entry: dict[str, Any] = {
        "plugin": sample.plugin,
        "name": f"sample_{sample.variant or 'as_is'}_{sample.name}",
        "kind": "log" if sample.format else "command",
        "source": str(source),
        "outcome": "ok",
        "reason": None,
        "path": sample.path,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "original_size": len(data),
        "truncated": False,
        "redactions": 0,
        "redaction_rules": {},
        "duration_s": 0.0,
    }
    if sample.format:
        entry["format"] = {"name": sample.format, "options": dict(sample.options)}
    else:
        entry["exit_code"] = 0
    return entry


def real_bundle(folder: Path) -> Path:
    """A collection of the fake host, as conftest's fake_host fixture builds it."""
    host = build_fake_host(folder)
    result = collect_on(host, run_pa_command)
    assert result.returncode == 0, result.stderr
    return only_bundle(host.out)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bundle]:
    root = samples_root()
    work = tmp_path_factory.mktemp("samples_bundle")
    with open_bundle(real_bundle(work)) as collected:
        manifest = collected.manifest
        staged = work / "staged"
        members: list[tuple[Path, str]] = []
        for name in collected.files():
            if name == "manifest.json":
                continue
            target = staged / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with collected.read(name) as stream:
                target.write_bytes(stream.read())
            members.append((target, name))
    for sample in all_samples(root):
        source = root / sample.folder / sample.name
        manifest["items"].append(item(sample, source))
        members.append((source, sample.path))
    assert schema_errors("manifest", manifest) == []
    path = write_bundle(work / "samples.7z", members, manifest_bytes(manifest))
    with open_bundle(path) as opened:
        yield opened


def records(bundle: Bundle, sample: str, **window: Any) -> list[Record]:
    return list(bundle.records(sample, **window))


def read(bundle: Bundle, path: str) -> bytes:
    with bundle.read(path) as stream:
        return stream.read()


def text(bundle: Bundle, path: str) -> str:
    return read(bundle, path).decode("utf-8")


def timed(found: list[Record]) -> list[Record]:
    return [record for record in found if record.timestamp is not None]


# --- the bundle itself ---------------------------------------------------------------


def test_the_sample_bundle_verifies_and_lists_each_log_with_its_plugin(bundle: Bundle) -> None:
    assert bundle.verify() == []
    root = samples_root()
    assert {s.path for s in all_samples(root)} <= set(bundle.files())
    assert set(bundle.logs()) == {s.path for s in LOGS}
    for plugin in ("db2", "mq", "websphere", "informix", "domino"):
        assert bundle.logs(plugin) == sorted(s.path for s in LOGS if s.plugin == plugin)


def test_every_sample_reads_back_byte_for_byte(bundle: Bundle) -> None:
    root = samples_root()
    for sample in all_samples(root):
        assert read(bundle, sample.path) == (root / sample.folder / sample.name).read_bytes()


def test_records_of_every_log_are_the_file_from_its_first_byte(bundle: Bundle) -> None:
    """Offsets start at 0 and strictly increase; no log loses a record."""
    for sample in LOGS:
        found = records(bundle, sample.path)
        offsets = [r.offset for r in found]
        assert offsets[0] == 0 and offsets == sorted(set(offsets)), sample.path
        assert offsets[-1] < len(read(bundle, sample.path))


# --- Db2 -----------------------------------------------------------------------------


def test_db2diag_container_sample(bundle: Bundle) -> None:
    log = "db2/samples/db2diag_db2_11.5.8_container.log"
    found = records(bundle, log)
    assert len(found) == 5
    assert [r.level for r in found] == ["Warning", "Event", "Event", "Warning", "Error"]
    assert [r.text.split()[1] for r in found] == [
        "I465616E393",
        "I466010E1182",
        "I467193E1270",
        "I468464E393",
        "I468858E460",
    ]
    procs = [re.search(r"PROC : (\S+)", r.text) for r in found]
    assert [p.group(1) if p else None for p in procs] == ["db2star2"] + ["db2start"] * 3 + ["db2bp"]
    assert all("INSTANCE: db2inst1" in r.text and "2e62336d93c9" in r.text for r in found)
    assert [("DB   : SAMPLE" in r.text) for r in found] == [False] * 4 + [True]
    assert found[-1].message_id == "SQLE_CA_BUILT"
    assert "RETCODE : ZRC=0x8005006D=-2147155859=SQLE_CA_BUILT" in found[-1].text
    assert sum(r.text.count("PD_DB2_TYPE_SQLCA") for r in found) == 4
    utc = timezone(timedelta(0))
    assert found[0].timestamp == datetime(2025, 9, 1, 4, 1, 42, 935663, tzinfo=utc)
    assert found[-1].timestamp == datetime(2025, 9, 1, 4, 3, 37, 960445, tzinfo=utc)
    # The level filter is case-insensitive; since keeps the records at or after it.
    assert [r.offset for r in records(bundle, log, level="warning")] == [
        found[0].offset,
        found[3].offset,
    ]
    assert records(bundle, log, since=found[3].timestamp) == found[3:]
    assert records(bundle, log, since=found[2].timestamp, level="ERROR") == found[4:]


def test_db2diag_levels_and_doc_record_samples(bundle: Bundle) -> None:
    levels = records(bundle, "db2/samples/db2diag_rsyslog_levels.log")
    assert [r.level for r in levels] == [
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
    assert {r.timestamp.utcoffset() for r in levels if r.timestamp} == {timedelta(minutes=120)}
    assert [f"PID     : {4390941 + n}" in levels[n].text for n in range(8)] == [True] * 8
    assert all("E1876227378A1702" in r.text.split("\n")[0] for r in levels)
    assert levels[8].text.count("\n") == 0
    (doc,) = records(bundle, "db2/samples/db2diag_rsyslog_doc_record.log")
    assert doc.text.startswith("2015-05-06-16.53.26.989402+120 E1876227378A1702     LEVEL: Info")
    assert (doc.level, doc.message_id) == ("Info", "SQLP_NOTA")
    assert "EDUNAME: db2agent (DBTEST) 0" in doc.text and "HOSTNAME: dev-dbm1" in doc.text
    assert sum(f"  [{n}] 0x" in doc.text for n in range(14)) == 14
    assert doc.text.count("\t") == 1


def test_db2_command_output_samples(bundle: Bundle) -> None:
    level = db2_parse.parse_db2level(text(bundle, "db2/samples/db2level_11.1.3.3.txt"))
    assert (level["instance"], level["bits"], level["code_release"]) == (
        "db2inst1",
        "64",
        "SQL11013",
    )
    assert level["tokens"] == ["DB2 v11.1.3.3", "s1807091300", "DYN1807091300AMD64"]
    assert (level["version"], level["fix_pack"]) == ("11.1.3.3", "3b")
    assert level["install_path"] == "/opt/ibm/db2/V11.1"

    ese, connect = db2_parse.parse_db2licm(text(bundle, "db2/samples/db2licm_l.txt"))
    assert (ese["product_identifier"], ese["version_information"]) == ("db2ese", "9.7")
    assert (ese["expiry_date"], ese["license_type"]) == ("Permanent", "CPU Option")
    assert list(ese["features"].values()) == ["Not licensed"] * 4
    assert (connect["product_identifier"], connect["expiry_date"]) == ("db2consv", "Expired")

    installs = db2_parse.parse_db2ls(text(bundle, "db2/samples/db2ls_a_c.txt"))
    assert [(i["path"], i["version"], i["fix_pack"]) for i in installs] == [
        ("/opt/ibm/db2/V11.5", "11.5.6.0", "0"),
        ("/opt/ibm/db2/V11.5_01", "11.5.7.0", "0"),
    ]

    cfg = db2_parse.parse_cfg(text(bundle, "db2/samples/db_cfg_SAMPLE_11.5.8.txt"))
    assert len(cfg) == 176
    assert sum(key.isupper() and " " not in key for key in cfg) == 149
    assert (cfg["Database release level"], cfg["Database page size"]) == ("0x1500", "8192")
    assert (cfg["LOGFILSIZ"], cfg["LOGPRIMARY"], cfg["LOGSECOND"]) == ("1024", "16", "22")
    assert (cfg["LOCKTIMEOUT"], cfg["LOGARCHMETH1"]) == ("-1", "DISK:/database/logs/")
    assert (cfg["HADR database role"], cfg["HADR_SYNCMODE"]) == ("STANDARD", "NEARSYNC")
    assert cfg["First active log file"] == "S0000002.LOG"

    abridged = db2_parse.parse_cfg(text(bundle, "db2/samples/db_cfg_TESTD1_insights_abridged.txt"))
    assert len(abridged) == 37 and abridged["Database page size"] == "4096"
    assert not [key for key in abridged if key.startswith("LOG")]

    dbm = db2_parse.parse_cfg(text(bundle, "db2/samples/dbm_cfg_insights_abridged.txt"))
    assert (dbm["NUMDB"], dbm["DIAGLEVEL"]) == ("32", "3")
    assert dbm["CUR_EFF_CODE_LVL"] == "V:11 R:5 M:9 F:0 I:0 SB:0"
    resolved = db2_parse.resolve_diagpath(dbm, "/home/dbp")["resolved"]
    assert resolved == "/home/dbp/sqllib/db2dump/DIAG0000"

    hadr_text = text(bundle, "db2/samples/db2pd_hadr_HATEST_primary.txt")
    hadr = db2_parse.parse_db2pd_pairs(hadr_text)
    assert len(hadr) == 43
    assert (hadr["HADR_ROLE"], hadr["HADR_STATE"], hadr["HADR_SYNCMODE"]) == (
        "PRIMARY",
        "PEER",
        "NEARSYNC",
    )
    assert (hadr["PRIMARY_MEMBER_HOST"], hadr["STANDBY_MEMBER_HOST"]) == ("alpha", "beta")
    assert (hadr["PEER_WINDOW(seconds)"], hadr["HADR_LOG_GAP(bytes)"]) == ("7200", "0")
    assert db2_parse.db2pd_state(hadr_text) == "active"

    logs_text = text(bundle, "db2/samples/db2pd_logs_SAMPLE.txt")
    logs = db2_parse.parse_db2pd_logs(logs_text)
    assert (logs["Current Log Number"], logs["Pages Written"]) == ("1", "71")
    assert logs["Current LSN"] == "0x000000000004809A"
    assert [f["filename"] for f in logs["log_files"]] == [f"S{n:07d}.LOG" for n in range(1, 17)]
    assert [f["start_lsn"] for f in logs["log_files"] if set(f["start_lsn"]) != {"0"}] == [
        "0000000000047ABD"
    ]
    banner = db2_parse.parse_db2pd_banner(logs_text)
    assert banner is not None and banner["uptime"] == "0 days 00:05:08"

    # No parser reads `list tablespaces show detail`: the facts are in the text.
    spaces = text(bundle, "db2/samples/list_tablespaces_show_detail.txt")
    assert re.findall(r"^ Name +?= (\S+)$", spaces, re.MULTILINE) == [
        "SYSCATSPACE",
        "TEMPSPACE1",
        "USERSPACE1",
        "IBMDB2SAMPLEREL",
        "IBMDB2SAMPLEXML",
        "SYSTOOLSPACE",
    ]
    assert spaces.count("Backup pending") == 1


# --- MQ ------------------------------------------------------------------------------


def test_mq75_linux_sample(bundle: Bundle) -> None:
    found = records(bundle, "mq/samples/AMQERR01_mq7.5_linux_TESTV75_truncated.LOG")
    assert len(found) == 342
    ids = Counter(r.message_id for r in found)
    assert len(ids) == 50
    assert ids.most_common(5) == [
        ("AMQ9999", 46),
        ("AMQ5041", 39),
        ("AMQ8077", 32),
        ("AMQ5051", 30),
        ("AMQ9557", 27),
    ]
    fields = [mq_parse.record_fields(r.text) for r in found]
    assert {(f["vrmf"], f["qmgr"], f["host"]) for f in fields} == {
        ("7.5.0.0", "TESTV75", "centos6")
    }
    assert Counter(f["user"] for f in fields) == {"mqm": 318, "alice": 20, "bob": 4}
    assert fields[0]["message"] == "AMQ6287: WebSphere MQ V7.5.0.0 (p000-L120604)."
    assert found[0].text.startswith("09/03/2014 04:56:03 PM")
    assert found[-1].text.startswith("09/19/2014 02:49:56 PM")
    first, last = found[0].timestamp, found[-1].timestamp
    assert first and last and (first.year, first.month, first.day, first.hour) == (2014, 9, 3, 16)
    assert (last.month, last.day, last.hour, last.minute) == (9, 19, 14, 49)


def test_mq905_aix_sample(bundle: Bundle) -> None:
    log = "mq/samples/AMQERR01_mq9.0.5_aix_CRCORMESBRKAPP_truncated.LOG"
    found = records(bundle, log)
    assert len(found) == 193
    assert Counter(r.message_id for r in found) == {
        "AMQ9999E": 64,
        "AMQ9002I": 63,
        "AMQ9202E": 62,
        "AMQ6287I": 2,
        "AMQ9525E": 1,
        "AMQ9209E": 1,
    }
    assert Counter(r.level for r in found) == {"error": 128, "information": 65}
    assert len(records(bundle, log, level="Error")) == 128
    fields = [mq_parse.record_fields(r.text) for r in found]
    assert {(f["vrmf"], f["qmgr"], f["host"], f["user"]) for f in fields} == {
        ("9.0.5.0", "CRCORMESBRKAPP", "CRCORMESBRKAPP2", "brkadmin")
    }
    assert all(f["time"] and f["time"].startswith("2021-03-17T") for f in fields)
    assert found[0].text.startswith("03/17/21 00:40:30")
    assert found[-1].text.startswith("03/17/21 01:15:19")
    channels = Counter(re.findall(r"\((TO\.[A-Z0-9.]+)\)", "".join(r.text for r in found)))
    assert channels == {"TO.GUA400S": 171, "TO.CRI400E": 18, "TO.CRCORMESBRKAPP": 2}
    # The return codes of the failed TCP/IP connects (AMQ9202E): 79, and 78.
    codes = Counter(re.findall(r"(\d+) \(X'[0-9A-F]+'\)", "".join(r.text for r in found)))
    assert codes == {"79": 41, "78": 21}
    # Time() is UTC: a window from the 100th record keeps exactly the rest.
    since = found[100].timestamp
    assert since is not None
    assert records(bundle, log, since=since) == [
        r for r in found if r.timestamp and r.timestamp >= since
    ]


def test_beats_log_20_records_in_two_languages_not_utf8(bundle: Bundle) -> None:
    log = "mq/samples/beats_AMQERR01.LOG"
    with pytest.raises(UnicodeDecodeError):
        read(bundle, log).decode("utf-8")
    found = records(bundle, log)
    assert len(found) == 20
    assert Counter(r.message_id for r in found) == {
        "AMQ7125I": 10,
        "AMQ6776E": 4,
        "AMQ6184W": 4,
        "AMQ6287I": 1,
        "AMQ8576I": 1,
    }
    assert Counter(r.level for r in found) == {"information": 12, "warning": 4, "error": 4}
    fields = [mq_parse.record_fields(r.text) for r in found]
    assert {(f["vrmf"], f["host"]) for f in fields} == {("9.1.0.0", "FELIX-ELASTIC")}
    assert Counter(f["user"] for f in fields) == {"MUSR_MQADMIN": 15, "felix": 5}
    assert all(f["time"] for f in fields)
    assert sum(r.text[2] == "." for r in found) == 5
    assert sum(r.text[2] == "/" for r in found) == 15
    # Without a code page every byte survives (Latin-1); with cp850 it reads as German.
    assert sum("ERKL\x8eRUNG:" in r.text for r in found) == 5
    german = records(bundle, "mq/samples/cp850/beats_AMQERR01.LOG")
    assert [r.offset for r in german] == [r.offset for r in found]
    assert sum("ERKLÄRUNG:" in r.text and "AKTION:" in r.text for r in german) == 5
    assert sum("EXPLANATION:" in r.text and "ACTION:" in r.text for r in german) == 15


def test_beats_head_samples_in_their_code_pages(bundle: Bundle) -> None:
    qm1 = records(bundle, "mq/samples/beats_AMQERR01_QM1_head.log")
    assert len(qm1) == 12 and len({r.message_id for r in qm1}) == 9
    assert all(r.message_id and len(r.message_id) == 7 for r in qm1)
    assert {r.level for r in qm1} == {None}
    assert all("ERKLÄRUNG:" in r.text for r in qm1)
    assert {mq_parse.record_fields(r.text)["qmgr"] for r in qm1} == {"QM1"}
    assert {mq_parse.record_fields(r.text)["time"] for r in qm1} == {None}
    assert qm1[0].text.startswith("13.07.2018 07:06:00")
    assert qm1[-1].text.startswith("13.07.2018 07:06:01")

    qm2 = records(bundle, "mq/samples/beats_AMQERR01_QM2_head.log")
    assert len(qm2) == 12 and len({r.message_id for r in qm2}) == 9
    assert {r.level for r in qm2} == {"information"}
    assert {mq_parse.record_fields(r.text)["qmgr"] for r in qm2} == {"QM2"}
    assert all("ERKLÄRUNG:" in r.text for r in qm2)
    second = datetime(2018, 10, 17, 11, 50, 16, tzinfo=UTC)
    assert all(r.timestamp and second <= r.timestamp < second + timedelta(seconds=1) for r in qm2)


@pytest.mark.parametrize(
    ("name", "count", "level", "max_cmd_level"),
    [
        ("dspmqver_8.0.0.2.txt", 14, "p800-002-150519.TRIAL", 801),
        ("dspmqver_7.5.0.0.txt", 13, "p000-L120604", 750),
        ("dspmqver_7.1.0.2.txt", 13, "p710-002-121029", 711),
        ("dspmqver_7.0.1.3.txt", 4, "p701-103-100813", None),
    ],
)
def test_dspmqver_samples(
    bundle: Bundle, name: str, count: int, level: str, max_cmd_level: int | None
) -> None:
    fields = mq_parse.parse_dspmqver(text(bundle, f"mq/samples/{name}"))
    assert len(fields) == count
    assert fields["BuildType"] == "IKAP - (Production)"
    facts = mq_parse.product_facts(fields, [])
    assert (facts["build_level"], facts["max_cmd_level"]) == (level, max_cmd_level)


def test_dspmqver_8_sample_fields(bundle: Bundle) -> None:
    fields = mq_parse.parse_dspmqver(text(bundle, "mq/samples/dspmqver_8.0.0.2.txt"))
    assert (fields["Name"], fields["O/S"]) == ("WebSphere MQ", "Linux 3.10.0-229.el7.x86_64")
    assert (fields["LicenseType"], fields["Primary"]) == ("Trial", "No")
    old = mq_parse.parse_dspmqver(text(bundle, "mq/samples/dspmqver_7.0.1.3.txt"))
    assert old["CMVC level"] == "p701-103-100813" and "Level" not in old


# --- WebSphere -----------------------------------------------------------------------


def test_systemout_sample(bundle: Bundle) -> None:
    log = "websphere/samples/SystemOut.log"
    everything = records(bundle, log)
    found = timed(everything)
    assert len(found) == 723
    assert Counter(r.level for r in found) == {"I": 475, "A": 162, "O": 78, "W": 4, "Z": 2, "E": 2}
    assert [r.message_id for r in found].count("WSVR0001I") == 2
    assert sorted(str(r.message_id) for r in found if r.level == "E") == [
        "SESN0008E",
        "SRVE0255E",
    ]
    assert Counter(r.message_id for r in found if r.level == "W") == {
        "CWPKI0041W": 2,
        "SECJ8032W": 2,
    }
    assert (found[-1].level, found[-1].message_id) == ("A", "SECJ0129E")
    assert found[0].timestamp == datetime(2020, 5, 10, 3, 9, 1, 349000, tzinfo=UTC)
    assert found[-1].timestamp == datetime(2020, 5, 10, 3, 18, 27, 69000, tzinfo=UTC)
    banners = [r for r in everything if "Start Display Current Environment" in r.text]
    assert len(banners) == 2
    assert "process id 192" in banners[0].text and "process id 697" in banners[1].text
    assert "WebSphere Platform 9.0.5.2 [BASE 9.0.5.2 f5021945.04]" in banners[0].text
    assert [r.message_id for r in records(bundle, log, level="e")] == ["SRVE0255E", "SESN0008E"]


def test_systemerr_and_startserver_samples(bundle: Bundle) -> None:
    err = timed(records(bundle, "websphere/samples/SystemErr.log"))
    assert len(err) == 104 and {r.level for r in err} == {"R"}
    assert sum(r.text.count("\n\tat ") + r.text.startswith("\tat ") for r in err) == 47
    assert min(r.timestamp for r in err if r.timestamp) == datetime(
        2020, 5, 10, 3, 14, 34, 612000, tzinfo=UTC
    )
    assert max(r.timestamp for r in err if r.timestamp) == datetime(
        2020, 5, 10, 3, 14, 34, 740000, tzinfo=UTC
    )
    joined = "\n".join(r.text for r in err)
    assert "IWAE0037E Could not open /apps/CertLoginSample.war" in joined
    assert "java.io.FileNotFoundException: IWAE0036E" in joined

    log = "websphere/samples/startServer.log"
    start = timed(records(bundle, log))
    assert len(start) == 16
    assert Counter(r.level for r in start) == {"A": 10, "I": 4, "W": 2}
    assert [r.message_id for r in start].count("WSVR0072W") == 2
    opened = [r for r in start if r.message_id == "ADMU3000I"]
    assert [re.findall(r"process id is (\d+)", r.text) for r in opened] == [["192"], ["697"]]
    assert websphere_parse.parse_last_event(read(bundle, log), websphere_parse.STARTED) == {
        "time": "2020-05-10T03:10:34.314000+00:00",
        "server": "server1",
        "pid": 697,
    }


def test_version_info_sample(bundle: Bundle) -> None:
    report = websphere_parse.parse_version_info(
        text(bundle, "websphere/samples/versionInfo_8.5.5.11_ND.txt")
    )
    assert report["report_time"] == "March 15, 2018 2:30:20 PM EDT"
    assert report["reporter_version"] == "1.15.1.48"
    assert report["product_list"] == {"ND": "installed", "IBMJAVA71": "installed"}
    nd, sdk = report["products"]
    assert (nd["version"], nd["id"], nd["build_level"]) == ("8.5.5.11", "ND", "cf111649.01")
    assert nd["package"] == "com.ibm.websphere.ND.v85_8.5.5011.20161206_1434"
    assert len(nd["installed_features"]) == 5
    assert (sdk["version"], sdk["id"], sdk["build_level"]) == (
        "7.1.3.30",
        "IBMJAVA71",
        "cf091608.04",
    )


# --- Informix ------------------------------------------------------------------------


def test_oninit_sample_as_a_message_log(bundle: Bundle) -> None:
    log = "informix/samples/oninit_v_12.10.FC3IE_docker_build.txt"
    found = records(bundle, log)
    assert len(found) == 14
    assert all(re.match(r"\d\d:\d\d:\d\d  ", r.text) for r in found)
    assert "16:10:18  IBM Informix Dynamic Server Started." in [r.text for r in found]
    assert sum(r.text.count("...succeeded") for r in found) == 35
    assert found[-1].text.endswith("Verbose output complete: mode = 5")
    assert all(r.timestamp is None for r in found)  # no date header to date them
    assert "\n".join(r.text for r in found) + "\n" == text(bundle, log)


def test_onstat_m_sample_as_a_message_log_and_as_output(bundle: Bundle) -> None:
    path = "informix/samples/onstat_m_11.50.FC8.txt"
    found = records(bundle, path)
    lines = [r for r in found if re.match(r"\d\d:\d\d:\d\d  ", r.text)]
    assert len(lines) == 16 and found[1:] == lines  # the banner comes first
    assert sum("Checkpoint Completed" in r.text for r in lines) == 2
    assert [r.text.split()[3] for r in lines if r.text.endswith("- Backup Completed")] == [
        "1840403",
        "1840404",
        "1840405",
    ]
    (extents,) = [r for r in lines if "no more extents" in r.text]
    assert "cashbill:informix.session_status" in extents.text
    tail = informix_parse.parse_onstat_m(text(bundle, path))
    assert tail["banner"]["version"] == "11.50.FC8"
    assert tail["banner"]["uptime"] == "9 days 13:30:30"
    assert tail["banner"]["shared_memory_kb"] == 101950928
    assert tail["message_log"] == "/informix/online_gsbys.log"
    assert tail["time_lines"] == 16


def test_cucm_capture_sample(bundle: Bundle) -> None:
    capture = text(bundle, "informix/samples/onstat_V_m_c_b_cucm_showtechdbstateinfo.txt")
    parts = re.split(r"^=+\nExecuting onstat\s+(-\w)\s*\n=+\n", capture, flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert set(sections) == {"-V", "-m", "-c", "-b"}
    serial = informix_parse.parse_onstat_v(sections["-V"])
    assert (serial["version"], serial["serial_number"]) == ("12.10.UC7X3", "AAA#B000000")
    tail = informix_parse.parse_onstat_m(sections["-m"])
    assert tail["banner"]["uptime"] == "3 days 06:07:15"
    assert tail["banner"]["shared_memory_kb"] == 286648
    assert tail["message_log"] == "/var/log/active/cm/log/informix/ccm.log"
    assert tail["time_lines"] == 13
    assert sum("Checkpoint Completed" in line for line in tail["lines"]) == 3
    config = informix_parse.parse_onstat_c(sections["-c"])
    assert config["config_file"] == "/usr/local/cm/db/informix/etc/onconfig"
    assert "2048" in sections["-b"] and "40000 total" in sections["-b"]


def test_onstat_l_and_d_samples(bundle: Bundle) -> None:
    logs = informix_parse.parse_onstat_l(
        text(bundle, "informix/samples/onstat_l_14.10.FC4W1AEE.txt")
    )
    assert [g["number"] for g in logs["logs"]] == list(range(5, 13))
    assert (logs["logs_active"], logs["logs_total"]) == (8, 8)
    assert [g["flags"] for g in logs["logs"] if g["used"]] == [
        "U-B-----",
        "U-B-----",
        "U-B---L-",
        "U---C---",
    ]
    assert sum(g["flags"] == "A-------" for g in logs["logs"]) == 4
    assert logs["physical_buffer"]["Buffer"] == "P-1"
    assert (logs["physical_log"]["physize"], logs["physical_log"]["phybegin"]) == (
        "1048523",
        "2:53",
    )
    assert logs["logical_buffer"]["Buffer"] == "L-3"
    assert logs["banner"]["uptime"] == "01:13:37"

    spaces = informix_parse.parse_onstat_d(
        text(bundle, "informix/samples/onstat_d_14.10.FC4W1AEE.txt")
    )
    assert [s["name"] for s in spaces["dbspaces"]] == [
        "rootdbs",
        "plogspace",
        "llog",
        "work1",
        "temp1",
        "sbs1",
    ]
    assert (spaces["dbspaces_active"], spaces["dbspaces_maximum"]) == (6, 2047)
    assert (len(spaces["chunks"]), spaces["chunks_active"], spaces["chunks_maximum"]) == (
        6,
        6,
        32766,
    )
    assert spaces["banner"]["uptime"] == "01:14:45"


def test_replication_samples(bundle: Bundle) -> None:
    def parsed(name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        output = text(bundle, f"informix/samples/{name}")
        banner = informix_parse.parse_banner(output)
        assert banner is not None
        return (
            banner,
            informix_parse.parse_onstat_g_dri(output),
            informix_parse.parse_onstat_g_rss(output),
        )

    banner, _, _ = parsed("onstat_g_ipl_14.10.txt")
    assert (banner["version"], banner["uptime"]) == ("14.10.FC4W1AEE", "02:03:29")

    banner, dri, _ = parsed("onstat_g_dri_primary.txt")
    assert banner["state"] == "On-Line (Prim)"
    assert (dri["type"], dri["state"], dri["paired_server"]) == ("primary", "on", "ifx2_dr")
    assert dri["settings"]["HDR_TXN_SCOPE"] == "NEAR_SYNC"
    assert dri["last_log_page_applied"] == "31,4837"

    banner, dri, _ = parsed("onstat_g_dri_secondary.txt")
    assert banner["state"] == "Read-Only (Sec)"
    assert (dri["type"], dri["paired_server"], dri["last_log_page_applied"]) == (
        "HDR Secondary",
        "ifx1_dr",
        "0,0",
    )

    banner, _, rss = parsed("onstat_g_rss_on_rss_server.txt")
    assert banner["state"] == "Read-Only (RSS)"
    assert (rss["local_server_type"], rss["source_server"]) == ("RSS", "ifx1_dr")
    assert rss["last_log_page_received"] == "20,45822"

    for name, status, connection, page, uptime in (
        ("onstat_g_rss_primary_defined.txt", "Defined", "Disconnected", "0,0", "02:46:34"),
        ("onstat_g_rss_primary_connected.txt", "Active", "Connected", "20,45823", "05:27:59"),
    ):
        banner, _, rss = parsed(name)
        assert (rss["local_server_type"], rss["rss_count"], banner["uptime"]) == (
            "Primary",
            1,
            uptime,
        )
        assert rss["servers"] == [
            {"name": "ifx2_dr", "status": status, "connection": connection, "next_log_page": page}
        ]


# --- Domino --------------------------------------------------------------------------


def test_console_sample(bundle: Bundle) -> None:
    log = "domino/samples/domino-smtp_fail2ban.log"
    found = records(bundle, log)
    assert len(found) == 9 and all(r.timestamp is not None for r in found)
    assert [r.offset for r in found] == [
        m.start() for m in re.finditer(rb"^", read(bundle, log), re.MULTILINE)
    ][:9]
    naive = [r.timestamp.replace(tzinfo=None) for r in found if r.timestamp]
    assert naive[0] == datetime(2005, 7, 3, 23, 7, 20)
    assert naive[2] == datetime(2014, 9, 8, 6, 14, 27)
    assert naive[8] == datetime(2018, 9, 19, 17, 25, 52)
    assert "[28325:00010-3735542592]" in found[1].text
    assert "SMTP Server [0D14:0027-1334]" in found[7].text
    ips = [re.findall(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", r.text) for r in found]
    assert ips[:4] == [["1.2.3.4"]] * 4
    assert ips[4] == ["192.0.2.4"] and ips[7] == ["192.0.2.1"] and ips[8] == ["192.0.2.2"]
    assert ips[5] == ips[6] == ["192.0.2.5"]


def test_http_access_sample(bundle: Bundle) -> None:
    log = "domino/samples/domino_http_access_ncsa_ossec.log"
    found = records(bundle, log)
    assert len(found) == 20
    zone = timezone(-timedelta(hours=5))
    assert found[0].timestamp == datetime(2006, 11, 5, 0, 0, 13, tzinfo=zone)
    assert found[-1].timestamp == datetime(2006, 11, 5, 0, 52, 26, tzinfo=zone)
    assert Counter(r.level for r in found) == {"info": 15, "warning": 5}
    assert len(records(bundle, log, level="warning")) == 5
    since = datetime(2006, 11, 5, 0, 30, tzinfo=zone)
    assert records(bundle, log, since=since) == [
        r for r in found if r.timestamp and r.timestamp >= since
    ]
    assert domino_parse.access_summary(text(bundle, log)) == {
        "requests": 20,
        "status": {"200": 10, "404": 5, "304": 4, "302": 1},
        "vhosts": {"www.acmeco.com": 16, "msg.acmeco.com": 3, "intranet.acmeco.com": 1},
        "nsf": 17,
    }


def test_manifest_format_options_round_trip(bundle: Bundle) -> None:
    """The reader builds each log's format from the manifest's name and options."""
    described = {
        i["path"]: i["format"]
        for i in bundle.manifest["items"]
        if isinstance(i.get("format"), dict)
    }
    assert described["mq/samples/beats_AMQERR01_QM2_head.log"] == {
        "name": "mq_amqerr",
        "options": {"codepage": "cp850"},
    }
    assert mq_parse.AmqerrFormat(
        **described["mq/samples/cp850/beats_AMQERR01.LOG"]["options"]
    ).describe() == {
        "name": "mq_amqerr",
        "options": {"codepage": "cp850"},
    }
    assert json.loads(read(bundle, "manifest.json")) == bundle.manifest
