"""IBM MQ: parsers on the fake installation and on real samples, AMQERR time
windows, and the installed pa-collect end to end on a fake MQ 9.3 host."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from collector.plugins.mq import GSK_PKCS11_PASSWORD, mangle, queue_managers_from_mqs_ini
from collector.plugins.mq_parse import (
    AMQERR,
    AmqerrFormat,
    header_time,
    iter_amqerr,
    parse_dspmq,
    parse_dspmqver,
    parse_fdc_header,
    product_facts,
    record_fields,
)
from conftest import (
    CUSTOMER,
    DATA,
    FakeHost,
    RunPa,
    extract,
    no_traceback,
    only_bundle,
    samples_dir,
)
from jsonschema import Draft202012Validator

from collector.logwindow import Record, window_start
from collector.redact import BASELINE_RULES, redact_bytes
from collector.schema import schema_errors

MQ_DATA = DATA / "mq"
SYSROOT = MQ_DATA / "sysroot"
SCHEMA = json.loads((Path(__file__).parents[1] / "schemas/facts_mq.schema.json").read_text())
PLANTED = [
    "PLANTED-MQ-WEB-01",
    "PLANTEDXORMQ02",
    "PLANTEDAESMQ03",
    "PLANTED-MQ-PKCS11-04",
    "PLANTED-MQ-KEYR-05",
    "PLANTED-MQ-EXIT-06",
    "PLANTED-MQ-CMD-07",
    "PLANTED-MQ-KDB-08",
    "PLANTED-MQ-STH-09",
    "PLANTED-MQ-RDB-10",
    "PLANTED-MQ-CRL-11",
    "PLANTED-MQ-KDB-12",
    "PLANTED-MQ-STH-13",
    "PLANTED-MQ-FDC-14",
]
KEY_FILES = {
    "/var/mqm/qmgrs/QM1/ssl/key.kdb",
    "/var/mqm/qmgrs/QM1/ssl/key.sth",
    "/var/mqm/qmgrs/QM1/ssl/key.rdb",
    "/var/mqm/qmgrs/QM1/ssl/key.crl",
    "/var/mqm/qmgrs/QM!TEST/ssl/key.kdb",
    "/var/mqm/qmgrs/QM!TEST/ssl/key.sth",
}


def fake_output(command: str, *args: str) -> str:
    """What a fake MQ command prints (the same script the end-to-end tests run)."""
    result = subprocess.run(
        [str(MQ_DATA / "bin" / command), *args], capture_output=True, text=True, check=True
    )
    return result.stdout


def records_of(path: Path, fmt: AmqerrFormat = AMQERR) -> list[Record]:
    with path.open("rb") as stream:
        return list(iter_amqerr(stream, fmt))


def raw_records(data: bytes, records: list[Record]) -> list[bytes]:
    """Each record's bytes, cut from the file at the parser's offsets."""
    ends = [r.offset for r in records[1:]] + [len(data)]
    return [data[r.offset : end] for r, end in zip(records, ends, strict=True)]


def text_encoding(raw: bytes) -> str:
    """How a record's text was decoded: UTF-8 when it is, else Latin-1 (lossless)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def local(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    """A wall-clock time on this host, as header dates without Time() are read."""
    return datetime(year, month, day, hour, minute, second).astimezone()


# --- dspmqver, dspmq, ini files, FDC headers -----------------------------------------


def test_dspmqver_of_the_fake_installation_gives_version_fix_pack_and_license() -> None:
    fields = parse_dspmqver(fake_output("dspmqver"))
    assert fields["O/S Details"] == "Red Hat Enterprise Linux 8.8 (Ootpa)"
    facts = product_facts(fields, [])
    assert facts["product"] == "IBM MQ"
    assert facts["version"] == "9.3.0.15"
    assert facts["fix_pack"] == 15
    assert facts["build_level"] == "p930-015-231011"
    assert facts["build_type"] == "IKAP - (Production)"
    assert facts["install_path"] == "/opt/mqm"
    assert facts["data_path"] == "/var/mqm"
    assert facts["primary"] is True
    assert facts["max_cmd_level"] == 930
    assert facts["license"] == "Production"


@pytest.mark.parametrize(
    ("sample", "count", "level", "max_cmd_level"),
    [
        ("dspmqver_8.0.0.2.txt", 14, "p800-002-150519.TRIAL", 801),
        ("dspmqver_7.5.0.0.txt", 13, "p000-L120604", 750),
        ("dspmqver_7.1.0.2.txt", 13, "p710-002-121029", 711),
        ("dspmqver_7.0.1.3.txt", 4, "p701-103-100813", None),
    ],
)
def test_dspmqver_samples(sample: str, count: int, level: str, max_cmd_level: int | None) -> None:
    fields = parse_dspmqver((samples_dir("mq") / sample).read_text())
    assert len(fields) == count
    assert fields["BuildType"] == "IKAP - (Production)"
    assert fields["Name"] == "WebSphere MQ"
    facts = product_facts(fields, [])
    assert facts["build_level"] == level
    assert facts["max_cmd_level"] == max_cmd_level
    assert facts["fix_pack"] == int(facts["version"].split(".")[3])


def test_dspmqver_8_sample_fields_and_the_old_cmvc_level() -> None:
    folder = samples_dir("mq")
    v8 = parse_dspmqver((folder / "dspmqver_8.0.0.2.txt").read_text())
    assert v8["O/S"] == "Linux 3.10.0-229.el7.x86_64"
    assert v8["LicenseType"] == "Trial"
    assert v8["InstDesc"] == ""
    assert product_facts(v8, [])["primary"] is False
    v7 = parse_dspmqver((folder / "dspmqver_7.0.1.3.txt").read_text())
    assert v7["CMVC level"] == "p701-103-100813"
    facts = product_facts(v7, [])
    assert (facts["version"], facts["fix_pack"], facts["license"]) == ("7.0.1.3", 3, None)


def test_dspmq_gives_status_default_and_instances() -> None:
    found = parse_dspmq(fake_output("dspmq", "-x", "-o", "all"))
    assert [(q["name"], q["status"], q["default"]) for q in found] == [
        ("QM1", "Running", True),
        ("QM.TEST", "Ended normally", False),
    ]
    assert found[0]["instances"] == [
        {"host": "dbhost01", "mode": "Active"},
        {"host": "dbhost02", "mode": "Standby"},
    ]
    assert found[0]["standby"] == "Permitted"
    assert found[1]["installation_version"] == "9.3.0.15"
    assert found[1]["attributes"]["HA"] == ""
    only = parse_dspmq(fake_output("dspmq", "-m", "QM.TEST", "-x", "-o", "all"))
    assert [q["name"] for q in only] == ["QM.TEST"]


def test_dspmq_native_ha_columns_are_attributes_not_instances() -> None:
    line = (
        "QMNAME(QM1)  STATUS(Running as standby) DEFAULT(YES) STANDBY(Permitted) "
        "INSTNAME(Installation1) INSTPATH(/opt/mqm) INSTVER(9.2.3.0) ROLE(Not configured) "
        "INSTANCE() INSYNC() QUORUM()\n"
    )
    (entry,) = parse_dspmq(line)
    assert entry["status"] == "Running as standby"
    assert entry["default"] is True
    assert entry["instances"] == []
    assert entry["attributes"]["ROLE"] == "Not configured"


def test_mqs_ini_gives_directories_with_mangled_names() -> None:
    entries = queue_managers_from_mqs_ini((SYSROOT / "var/mqm/mqs.ini").read_text())
    assert [(e.name, e.directory, e.data_path) for e in entries] == [
        ("QM1", "QM1", "/var/mqm/qmgrs/QM1"),
        ("QM.TEST", "QM!TEST", "/var/mqm/qmgrs/QM!TEST"),
    ]
    assert mangle("QM.A/B") == "QM!A&B"
    moved = queue_managers_from_mqs_ini(
        "AllQueueManagers:\n   DefaultPrefix=/srv/mqm\nQueueManager:\n   Name=APP.QM\n"
        "QueueManager:\n   Name=QM9\n   Directory=QM9\n   DataPath=/mnt/data/qmgrs/QM9/\n"
    )
    assert [(e.directory, e.data_path) for e in moved] == [
        ("APP!QM", "/srv/mqm/qmgrs/APP!QM"),
        ("QM9", "/mnt/data/qmgrs/QM9"),
    ]


def test_fdc_header_fields() -> None:
    text = (SYSROOT / "var/mqm/errors/AMQ4711.0.FDC").read_text()
    header = parse_fdc_header(text)
    assert header["Probe Id"] == "XC130003"
    assert header["Program Name"] == "amqzxma0"
    assert header["QueueManager"] == "QM1"
    assert header["Probe Description"].startswith("AMQ6119S: An internal IBM MQ error")
    assert "MQSAMP_USER_PASSWORD" not in header  # only the first box


def test_gsk_pkcs11_token_password_is_masked_and_the_rest_kept() -> None:
    line = (
        b"   SSLCryptoHardware=GSK_PKCS11=/usr/lib/p11.so;mqtoken;tok3n pw;SYMMETRIC_CIPHER_ON;\n"
    )
    assert redact_bytes(line, BASELINE_RULES)[0] == line  # the baseline alone misses it
    masked, hits = redact_bytes(line, (*BASELINE_RULES, GSK_PKCS11_PASSWORD))
    assert hits == 1
    assert masked == (
        b"   SSLCryptoHardware=GSK_PKCS11=/usr/lib/p11.so;mqtoken;********;SYMMETRIC_CIPHER_ON;\n"
    )


# --- AMQERR logs: the fixture --------------------------------------------------------


def test_header_dates_in_each_locale() -> None:
    assert header_time("10/17/2018", "01:50:16", b" PM") == local(2018, 10, 17, 13, 50, 16)
    assert header_time("10/17/2018", "12:05:00", b" AM") == local(2018, 10, 17, 0, 5, 0)
    assert header_time("17.10.2018", "13:50:16") == local(2018, 10, 17, 13, 50, 16)
    assert header_time("03/17/21", "00:40:30") == local(2021, 3, 17, 0, 40, 30)
    # The month would be 28: it is a day, so DD/MM/YYYY.
    assert header_time("28/10/2018", "15:12:07") == local(2018, 10, 28, 15, 12, 7)
    assert header_time("2018/10/17", "13:50:16") == local(2018, 10, 17, 13, 50, 16)
    assert header_time("31/31/2018", "10:00:00") is None


def test_fixture_qmgr_log_cp850_german_and_english() -> None:
    path = SYSROOT / "var/mqm/qmgrs/QM1/errors/AMQERR01.LOG"
    data = path.read_bytes()
    records = records_of(path)
    assert [r.message_id for r in records] == [
        "AMQ6287I",
        "AMQ7467I",
        "AMQ5026I",
        "AMQ9209E",
        "AMQ9999E",
        "AMQ6184W",
    ]
    assert [r.level for r in records] == ["information"] * 3 + ["error"] * 2 + ["warning"]
    # Time(...) wins over both header styles (German 24h, US 12h in CET).
    assert records[0].timestamp == datetime(2024, 3, 2, 9, 15, 1, 204000, tzinfo=UTC)
    assert records[3].timestamp == datetime(2024, 3, 5, 14, 41, 17, 877000, tzinfo=UTC)
    assert b"".join(raw_records(data, records)) == data
    # Not UTF-8: read as Latin-1, so every cp850 byte is still there (0x84 is ä).
    assert "Die \x84lteste" in (record_fields(records[1].text)["message"] or "")
    assert records[1].text.encode("latin-1") == raw_records(data, records)[1].rstrip(b"\n")
    readable = records_of(path, AmqerrFormat(codepage="cp850"))
    assert "ERKLÄRUNG:" in readable[1].text and "Die älteste" in readable[1].text
    fields = record_fields(readable[1].text)
    assert fields["qmgr"] == "QM1" and fields["vrmf"] == "9.3.0.15"
    assert (
        fields["action"]
        == "Die Größe der Protokolldateien im Verzeichnis /var/mqm/log/QM1/ prüfen."
    )
    english = record_fields(records[3].text)
    assert english["message"] == (
        "AMQ9209E: Connection to host 'app01 (192.0.2.31)' for channel 'APP.SVRCONN'\nclosed."
    )
    assert english["action"] == "Tell the systems administrator."
    assert english["source"] == "amqccita.c:4434"
    assert english["time"] == "2024-03-05T14:41:17.877Z"


# --- AMQERR logs: the real samples (SOURCES.md) -------------------------------------


def test_beats_log_20_records_mixed_languages_not_utf8() -> None:
    path = samples_dir("mq") / "beats_AMQERR01.LOG"
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    records = records_of(path)
    assert len(records) == 20
    assert Counter(r.message_id for r in records) == {
        "AMQ7125I": 10,
        "AMQ6776E": 4,
        "AMQ6184W": 4,
        "AMQ6287I": 1,
        "AMQ8576I": 1,
    }
    assert Counter(r.level for r in records) == {"information": 12, "warning": 4, "error": 4}
    fields = [record_fields(r.text) for r in records]
    assert {f["vrmf"] for f in fields} == {"9.1.0.0"}
    assert {f["host"] for f in fields} == {"FELIX-ELASTIC"}
    assert Counter(f["user"] for f in fields) == {"MUSR_MQADMIN": 15, "felix": 5}
    assert all(f["time"] for f in fields)
    assert all(r.timestamp and r.timestamp.tzinfo is not None for r in records)
    assert records[0].timestamp == datetime(2018, 10, 11, 8, 39, 30, 731000, tzinfo=UTC)
    # 5 German records (DD.MM.YYYY, ERKLÄRUNG in cp850), 15 English (DD/MM/YYYY).
    dotted = [r for r in records if r.text[2] == "."]
    assert len(dotted) == 5
    assert all("ERKL\x8eRUNG:" in r.text and "AKTION:" in r.text for r in dotted)
    slashed = [r for r in records if r.text[2] == "/"]
    assert len(slashed) == 15
    assert all("EXPLANATION:" in r.text and "ACTION:" in r.text for r in slashed)
    # Nothing lost or changed: the records are the file, byte for byte.
    raws = raw_records(data, records)
    assert b"".join(raws) == data
    for record, raw in zip(records, raws, strict=True):
        assert record.text.encode(text_encoding(raw)) == raw.rstrip(b"\n")
    setmqinst = next(r for r in records if r.message_id == "AMQ8576I")
    assert "prim\xc8re" in setmqinst.text  # byte 0xC8 kept, as upstream


def test_beats_qm1_head_cp1252_without_time_or_severity() -> None:
    records = records_of(samples_dir("mq") / "beats_AMQERR01_QM1_head.log")
    assert len(records) == 12
    assert len({r.message_id for r in records}) == 9
    assert all(r.message_id and len(r.message_id) == 7 for r in records)  # AMQ6287, no letter
    assert {r.level for r in records} == {None}
    fields = [record_fields(r.text) for r in records]
    assert {f["qmgr"] for f in fields} == {"QM1"}
    assert {f["time"] for f in fields} == {None}
    assert all("ERKLÄRUNG:" in r.text for r in records)  # cp1252 0xC4 is Latin-1 Ä
    assert records[0].timestamp == local(2018, 7, 13, 7, 6, 0)
    assert records[-1].timestamp == local(2018, 7, 13, 7, 6, 1)


def test_beats_qm2_head_cp850_with_time() -> None:
    records = records_of(samples_dir("mq") / "beats_AMQERR01_QM2_head.log")
    assert len(records) == 12
    assert len({r.message_id for r in records}) == 9
    assert {r.level for r in records} == {"information"}
    assert {record_fields(r.text)["qmgr"] for r in records} == {"QM2"}
    assert all(r.text.startswith("17.10.2018 13:50:16") for r in records)
    # 13:50:16 in the header is local time (CEST); Time() says 11:50:16 UTC.
    second = datetime(2018, 10, 17, 11, 50, 16, tzinfo=UTC)
    assert all(
        r.timestamp and second <= r.timestamp < second + timedelta(seconds=1) for r in records
    )


def test_mq75_linux_sample_old_format() -> None:
    path = samples_dir("mq") / "AMQERR01_mq7.5_linux_TESTV75_truncated.LOG"
    records = records_of(path)
    assert len(records) == 342
    ids = Counter(r.message_id for r in records)
    assert len(ids) == 50
    assert ids.most_common(5) == [
        ("AMQ9999", 46),
        ("AMQ5041", 39),
        ("AMQ8077", 32),
        ("AMQ5051", 30),
        ("AMQ9557", 27),
    ]
    assert {r.level for r in records} == {None}
    fields = [record_fields(r.text) for r in records]
    assert {(f["vrmf"], f["qmgr"], f["host"]) for f in fields} == {
        ("7.5.0.0", "TESTV75", "centos6")
    }
    assert Counter(f["user"] for f in fields) == {"mqm": 318, "alice": 20, "bob": 4}
    # Each record ends with its 79-character separator (plain or `----- file.c : line ---`).
    assert all(
        len(last := r.text.rsplit("\n", 1)[-1]) == 79 and last[:5] == "-----" for r in records
    )
    assert records[0].timestamp == local(2014, 9, 3, 16, 56, 3)
    assert records[-1].timestamp == local(2014, 9, 19, 14, 49, 56)
    assert fields[0]["message"] == "AMQ6287: WebSphere MQ V7.5.0.0 (p000-L120604)."


def test_mq905_aix_sample_new_format() -> None:
    path = samples_dir("mq") / "AMQERR01_mq9.0.5_aix_CRCORMESBRKAPP_truncated.LOG"
    records = records_of(path)
    assert len(records) == 193
    assert Counter(r.message_id for r in records) == {
        "AMQ9999E": 64,
        "AMQ9002I": 63,
        "AMQ9202E": 62,
        "AMQ6287I": 2,
        "AMQ9525E": 1,
        "AMQ9209E": 1,
    }
    assert Counter(r.level for r in records) == {"error": 128, "information": 65}
    fields = [record_fields(r.text) for r in records]
    assert {(f["vrmf"], f["qmgr"], f["host"], f["user"]) for f in fields} == {
        ("9.0.5.0", "CRCORMESBRKAPP", "CRCORMESBRKAPP2", "brkadmin")
    }
    assert all(f["time"] and f["time"].startswith("2021-03-17T") for f in fields)
    # The header says 03/17/21 00:40:30 (MM/DD/YY, local); Time() is UTC.
    assert records[0].timestamp == datetime(2021, 3, 17, 6, 40, 30, 397000, tzinfo=UTC)
    assert fields[0]["source"] == "amqxeida.c:6238"
    # Channels named in a CommentInsert: the counts SOURCES.md lists.
    channels = Counter(
        re.findall(r"CommentInsert\d\((TO\.[A-Z0-9.]+)\)", "".join(r.text for r in records))
    )
    assert channels == {"TO.GUA400S": 171, "TO.CRI400E": 18, "TO.CRCORMESBRKAPP": 2}


def test_window_on_a_sample_starts_at_the_first_record_in_it() -> None:
    path = samples_dir("mq") / "AMQERR01_mq7.5_linux_TESTV75_truncated.LOG"
    records = records_of(path)
    data = path.read_bytes()
    for index in (0, 57, 200, 341):
        since = records[index].timestamp
        assert since is not None
        expected = next(r.offset for r in records if r.timestamp and r.timestamp >= since)
        assert window_start(io.BytesIO(data), len(data), AMQERR, since) == expected
    last = records[-1].timestamp
    assert last is not None
    after = last + timedelta(seconds=1)
    assert window_start(io.BytesIO(data), len(data), AMQERR, after) == len(data)


# --- end to end ----------------------------------------------------------------------


def mq_host(product_host: Any) -> FakeHost:
    host: FakeHost = product_host("mq")
    # FDC files by age: AMQ1999 is the oldest and must not be among the newest 3.
    now = datetime.now().timestamp()
    for name, days in (("1999", 30), ("2210", 8), ("5120", 5), ("4711", 1)):
        fdc = host.sysroot / f"var/mqm/errors/AMQ{name}.0.FDC"
        os.utime(fdc, (now - days * 86400, now - days * 86400))
    return host


def collect_mq(host: FakeHost, run_pa: RunPa, *extra: str) -> subprocess.CompletedProcess[str]:
    # Header dates without Time() are local time: the child must share our zone.
    zone = {"TZ": os.environ["TZ"]} if "TZ" in os.environ else {}
    return run_pa(
        "--product",
        "mq",
        "--batch",
        "--json",
        "--sysroot",
        str(host.sysroot),
        "--output",
        str(host.out),
        *CUSTOMER,
        *extra,
        env=host.env(**zone),
    )


def collected(host: FakeHost, run_pa: RunPa, target: Path, *extra: str) -> dict[str, Any]:
    result = collect_mq(host, run_pa, *extra)
    assert result.returncode == 0, result.stderr
    assert no_traceback(result)
    manifest = extract(only_bundle(host.out), target)
    assert schema_errors("manifest", manifest) == []
    return manifest


def mq_items(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["source"]: i for i in manifest["items"] if i["plugin"] == "mq"}


def test_fake_installation_yields_version_and_queue_managers(
    product_host: Any, run_pa: RunPa, tmp_path: Path
) -> None:
    host = mq_host(product_host)
    manifest = collected(host, run_pa, tmp_path / "x", "--since", "all")
    facts = manifest["facts"]["mq"]
    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(facts)] == []
    assert facts["product"] == "IBM MQ"
    assert facts["version"] == "9.3.0.15"
    assert facts["fix_pack"] == 15
    assert facts["build_level"] == "p930-015-231011"
    assert facts["install_path"] == "/opt/mqm"
    assert facts["license"] == "Production"
    assert facts["default_qmgr"] == "QM1"
    assert [(i["name"], i["path"]) for i in facts["installations"]] == [
        ("Installation1", "/opt/mqm"),
        ("Installation2", "/opt/mqm92"),
    ]
    qmgrs = {q["name"]: q for q in facts["queue_managers"]}
    assert list(qmgrs) == ["QM1", "QM.TEST"]
    assert qmgrs["QM1"]["status"] == "Running"
    assert qmgrs["QM1"]["instances"][0] == {"host": "dbhost01", "mode": "Active"}
    assert qmgrs["QM1"]["recovery_log_path"] == "/var/mqm/log/QM1/"
    assert qmgrs["QM.TEST"]["status"] == "Ended normally"
    assert qmgrs["QM.TEST"]["directory"] == "QM!TEST"
    assert qmgrs["QM.TEST"]["error_log_dir"] == "/var/mqm/qmgrs/QM!TEST/errors"
    assert qmgrs["QM.TEST"]["log_type"] == "LINEAR"
    assert facts["fdc"]["count"] == 4
    assert [f["name"] for f in facts["fdc"]["newest"]] == [
        "AMQ4711.0.FDC",
        "AMQ5120.0.FDC",
        "AMQ2210.0.FDC",
    ]
    assert facts["fdc"]["newest"][0]["probe_id"] == "XC130003"

    items = mq_items(manifest)
    for source in (
        "dspmqver",
        "dspmq -x -o all",
        "/var/mqm/mqs.ini",
        "/etc/opt/mqm/mqinst.ini",
        "/var/mqm/qmgrs/QM1/qm.ini",
        "/var/mqm/qmgrs/QM!TEST/qm.ini",
        "/var/mqm/errors/AMQERR01.LOG",
        "/var/mqm/qmgrs/QM1/errors/AMQERR02.LOG",
        "/var/mqm/qmgrs/QM!TEST/errors/AMQERR01.LOG",
        "/var/mqm/errors/AMQ2210.0.FDC",
        "fact:fdc_listing",
    ):
        assert items[source]["outcome"] == "ok", source
    assert "/var/mqm/errors/AMQ1999.0.FDC" not in items
    assert items["/var/mqm/qmgrs/QM1/errors/AMQERR01.LOG"]["kind"] == "log"
    # The cp850 log arrives byte for byte.
    log = items["/var/mqm/qmgrs/QM1/errors/AMQERR01.LOG"]
    original = (SYSROOT / "var/mqm/qmgrs/QM1/errors/AMQERR01.LOG").read_bytes()
    assert (tmp_path / "x" / log["path"]).read_bytes() == original
    listing = json.loads((tmp_path / "x" / items["fact:fdc_listing"]["path"]).read_text())
    assert {f["name"] for f in listing["files"]} == {
        "AMQ1999.0.FDC",
        "AMQ2210.0.FDC",
        "AMQ4711.0.FDC",
        "AMQ5120.0.FDC",
    }


def test_planted_secrets_never_reach_the_bundle(
    product_host: Any, run_pa: RunPa, tmp_path: Path
) -> None:
    host = mq_host(product_host)
    manifest = collected(host, run_pa, tmp_path / "x", "--since", "all")
    everything = b"".join(p.read_bytes() for p in (tmp_path / "x").rglob("*") if p.is_file())
    for secret in PLANTED:
        assert secret.encode() not in everything, secret
    items = mq_items(manifest)
    # Key repositories: named, skipped as secret, never read.
    skipped = {source for source, item in items.items() if item.get("secret")}
    assert skipped == KEY_FILES
    assert all(items[s]["outcome"] == "skipped" and items[s]["path"] is None for s in skipped)
    # mqwebuser.xml is collected, its passwords masked.
    web = items["/var/mqm/web/installations/Installation1/servers/mqweb/mqwebuser.xml"]
    text = (tmp_path / "x" / web["path"]).read_text()
    assert '<user name="mqadmin" password="********"/>' in text
    assert 'password="{xor}********"' in text or 'password="********"' in text
    assert '<variable name="httpsPort" value="9443"/>' in text
    assert web["redactions"] == 3
    client = (tmp_path / "x" / items["/var/mqm/mqclient.ini"]["path"]).read_text()
    assert (
        "GSK_PKCS11=/usr/lib/pkcs11/PKCS11_API.so;mqtoken;********;SYMMETRIC_CIPHER_ON;" in client
    )
    assert items["/var/mqm/mqclient.ini"]["redaction_rules"]["mq_gsk_pkcs11_password"] == 1
    qm_ini = (tmp_path / "x" / items["/var/mqm/qmgrs/QM1/qm.ini"]["path"]).read_text()
    assert "Data=target=audit01;password=********" in qm_ini
    assert "LogPath=/var/mqm/log/QM1/" in qm_ini


def amqerr(moment: datetime, message: list[str], *, with_time: bool) -> bytes:
    """One AMQERR record at `moment`: MQ 9 German (cp850, with Time) or MQ 7.5
    English (12-hour local header, no Time), with a multi-line explanation."""
    at = moment.astimezone()
    if with_time:
        header = f"{at:%d.%m.%Y %H:%M:%S} - Process(4711.1) User(mqm) Program(amqzxma0)"
        utc = moment.astimezone(UTC)
        stamp = f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"
        inserts = ["VRMF(9.3.0.15) QMgr(QM1)", f"Time({stamp})"]
        labels = ("ERKLÄRUNG:", "AKTION:")
        indent = 22
    else:
        hour = at.hour % 12 or 12
        header = (
            f"{at:%m/%d/%Y} {hour:02d}:{at:%M:%S} {'AM' if at.hour < 12 else 'PM'}"
            " - Process(4711.1) User(mqm) Program(amqzxma0)"
        )
        inserts = ["VRMF(7.5.0.0) QMgr(QM1)"]
        labels = ("EXPLANATION:", "ACTION:")
        indent = 20
    lines = [header, " " * indent + "Host(dbhost01) Installation(Installation1)"]
    lines += [" " * indent + i for i in inserts] + [" " * (indent - 1), *message, ""]
    lines += [
        labels[0],
        "Erste Zeile der Erklärung.",
        "Zweite Zeile.",
        labels[1],
        "Keine.",
        "-" * 79,
    ]
    return ("\n".join(lines) + "\n").encode("cp850")


def write_log(path: Path, moments: list[datetime], *, with_time: bool) -> list[bytes]:
    records = [
        amqerr(
            m,
            [f"AMQ{7000 + n}{'I' if with_time else ''}: record {n}", "continued."],
            with_time=with_time,
        )
        for n, m in enumerate(moments)
    ]
    path.write_bytes(b"".join(records))
    return records


def test_since_1d_keeps_exactly_the_records_in_the_window(
    product_host: Any, run_pa: RunPa, tmp_path: Path
) -> None:
    host = mq_host(product_host)
    now = datetime.now(UTC)
    moments = [
        now - timedelta(days=3),
        now - timedelta(hours=30),
        now - timedelta(hours=20),
        now - timedelta(hours=1),
    ]
    logs = {
        "/var/mqm/qmgrs/QM1/errors/AMQERR01.LOG": True,  # MQ 9: Time(...) in UTC
        "/var/mqm/errors/AMQERR01.LOG": False,  # MQ 7.5: local 12-hour header only
    }
    written = {
        source: write_log(host.sysroot / source.lstrip("/"), moments, with_time=with_time)
        for source, with_time in logs.items()
    }
    manifest = collected(host, run_pa, tmp_path / "x", "--since", "1d")
    items = mq_items(manifest)
    for source, records in written.items():
        item = items[source]
        assert item["outcome"] == "ok"
        assert item["window_start"] == len(records[0]) + len(records[1])
        kept = (tmp_path / "x" / item["path"]).read_bytes()
        assert kept == records[2] + records[3], source
        parsed = list(iter_amqerr(io.BytesIO(kept)))
        assert [(r.message_id or "")[:7] for r in parsed] == ["AMQ7002", "AMQ7003"]
        assert all(r.timestamp and r.timestamp >= now - timedelta(days=1) for r in parsed)


def test_default_window_drops_records_older_than_14_days(
    product_host: Any, run_pa: RunPa, tmp_path: Path
) -> None:
    host = mq_host(product_host)
    now = datetime.now(UTC)
    moments = [now - timedelta(days=days) for days in (20, 15)]
    moments += [now - timedelta(days=13), now - timedelta(hours=1)]
    source = "/var/mqm/qmgrs/QM!TEST/errors/AMQERR01.LOG"
    records = write_log(host.sysroot / source.lstrip("/"), moments, with_time=True)
    manifest = collected(host, run_pa, tmp_path / "x")
    item = mq_items(manifest)[source]
    assert (tmp_path / "x" / item["path"]).read_bytes() == records[2] + records[3]
    # The static fixture logs are from 2024: nothing of them is in the window.
    old = mq_items(manifest)["/var/mqm/qmgrs/QM1/errors/AMQERR02.LOG"]
    assert old["outcome"] == "skipped" or old["size"] == 0


def test_qmgr_selection_collects_only_that_queue_manager(
    product_host: Any, run_pa: RunPa, tmp_path: Path
) -> None:
    host = mq_host(product_host)
    manifest = collected(host, run_pa, tmp_path / "x", "--since", "all", "--qmgr", "QM.TEST")
    items = mq_items(manifest)
    assert items["dspmq -m QM.TEST -x -o all"]["outcome"] == "ok"
    assert items["/var/mqm/qmgrs/QM!TEST/qm.ini"]["outcome"] == "ok"
    assert items["/var/mqm/qmgrs/QM!TEST/errors/AMQERR01.LOG"]["outcome"] == "ok"
    assert not [s for s in items if "/qmgrs/QM1/" in s]
    facts = manifest["facts"]["mq"]
    assert [(q["name"], q["status"]) for q in facts["queue_managers"]] == [
        ("QM.TEST", "Ended normally")
    ]
    assert facts["default_qmgr"] == "QM1"  # still what mqs.ini says


def test_detected_by_its_registry_without_commands(product_host: Any, run_pa: RunPa) -> None:
    host = product_host("mq")
    for command in ("dspmq", "dspmqver"):
        (host.bin / command).unlink()
    result = run_pa("plugins", "--json", "--sysroot", str(host.sysroot), env=host.env())
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    assert rows["mq"]["applies"] is True
    assert rows["mq"]["reason"] == "/var/mqm/mqs.ini exists"


def test_plugins_on_this_machine_says_mq_does_not_apply(run_pa: RunPa, tmp_path: Path) -> None:
    if Path("/var/mqm/mqs.ini").exists() or Path("/opt/mqm").exists():
        pytest.skip("IBM MQ is installed on this machine")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = run_pa("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    assert rows["mq"]["applies"] is False
    reason = rows["mq"]["reason"]
    for looked_for in ("command dspmqver", "/var/mqm/mqs.ini", "/etc/opt/mqm/mqinst.ini"):
        assert looked_for in reason
