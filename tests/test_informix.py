"""The informix plugin: parsers on fixture text and real samples, the message-log
format, discovery, and pa-collect end to end on a fake IDS 14.10.FC10 host."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from collector.plugins import informix, informix_parse
from collector.plugins.informix import Informix
from collector.plugins.informix_parse import OnlineLog
from conftest import CUSTOMER, DATA, FakeHost, RunPa, extract, only_bundle, samples_dir
from jsonschema import Draft202012Validator

from collector.host import Host
from collector.logwindow import iter_records, window_start
from collector.plugin import Collected, Context
from collector.redact import BASELINE_RULES, redact_bytes
from collector.spec import FactSpec, LogSpec

FIXTURE = DATA / "informix"
INSTALL = FIXTURE / "sysroot/opt/IBM/informix"
SCHEMA = Path(__file__).parent.parent / "schemas" / "facts_informix.schema.json"
PLANTED = [f"PLANTED-INFORMIX-0{n}" for n in range(1, 6)] + [
    "PLANTED-INFORMIX-KDB-06",
    "PLANTED-INFORMIX-STH-07",
    "PLANTED-INFORMIX-AF-08",
]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fake_onstat(view: str, server: str = "ol_prod") -> str:
    """What the fake onstat prints, run as the plugin runs it."""
    import subprocess

    env = {
        "INFORMIXDIR": "/opt/IBM/informix",
        "INFORMIXSERVER": server,
        "ONCONFIG": f"onconfig.{server}",
    }
    done = subprocess.run(
        [str(FIXTURE / "bin/onstat"), *view.split()], env=env, capture_output=True, text=True
    )
    return done.stdout


def records(data: bytes) -> list[Any]:
    return list(iter_records(io.BytesIO(data), OnlineLog()))


def sections(text: str) -> dict[str, str]:
    """The CUCM capture's `Executing onstat  -X` sections, by option."""
    parts = re.split(r"^=+\nExecuting onstat\s+(-\w)\s*\n=+\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def schema_errors(facts: object) -> list[str]:
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(facts)]


# --- onstat parsers on the fake's output -------------------------------------------


def test_banner_gives_version_state_uptime_and_memory() -> None:
    banner = informix_parse.parse_banner(fake_onstat("-"))
    assert banner == {
        "product": "IBM Informix Dynamic Server",
        "version": "14.10.FC10",
        "state": "On-Line",
        "type_mark": None,
        "flags": [],
        "uptime": "2 days 03:04:05",
        "uptime_seconds": 2 * 86400 + 3 * 3600 + 4 * 60 + 5,
        "shared_memory_kb": 1133412,
        "blocked": [],
    }


def test_banner_marks_and_blocked_reasons() -> None:
    text = (
        "\nIBM Informix Dynamic Server Version 12.10.FC12 -- Read-Only (Sec) (CKPT INP) -- "
        "Up 1 day 00:00:07 -- 300000 Kbytes\nBlocked:CKPT,LONGTX\n"
    )
    banner = informix_parse.parse_banner(text)
    assert banner is not None
    assert banner["state"] == "Read-Only (Sec)"
    assert banner["type_mark"] == "Sec" and banner["flags"] == ["CKPT INP"]
    assert banner["uptime_seconds"] == 86407 and banner["blocked"] == ["CKPT", "LONGTX"]


def test_offline_server_is_recognised() -> None:
    text = fake_onstat("-", server="ol_test")
    assert informix_parse.parse_banner(text) is None
    assert informix_parse.parse_offline(text) == "ol_test"


def test_level_splits_fix_pack_interim_fix_and_edition() -> None:
    assert informix_parse.parse_level("14.10.FC4W1AEE") == {
        "release": "14.10",
        "level": "FC4W1AEE",
        "fix_pack": "FC4",
        "interim": "W1",
        "edition": "AEE",
    }
    assert informix_parse.parse_level("12.10.FC3IE")["edition"] == "IE"
    assert informix_parse.parse_level("12.10.UC7X3")["interim"] == "X3"
    assert informix_parse.parse_level("14.10.FC10")["fix_pack"] == "FC10"
    assert informix_parse.parse_level("garbage") == {}


def test_onstat_version_and_serial() -> None:
    build = informix_parse.parse_onstat_version(fake_onstat("-version"))
    assert build["build_version"] == "14.10.FC10" and build["build_number"] == "241"
    assert build["gls_version"] == "glslib-7.00.FC6"
    serial = informix_parse.parse_onstat_v(fake_onstat("-V"))
    assert serial == {
        "product": "IBM Informix Dynamic Server",
        "version": "14.10.FC10",
        "serial_number": "AAA#B000000",
    }


def test_onstat_d_of_the_fake_counts_spaces_and_chunks() -> None:
    spaces = informix_parse.parse_onstat_d(fake_onstat("-d"))
    assert [s["name"] for s in spaces["dbspaces"]] == [
        "rootdbs",
        "plogdbs",
        "llogdbs",
        "datadbs1",
        "tempdbs1",
    ]
    assert [s["kind"] for s in spaces["dbspaces"]] == [
        "dbspace",
        "plogspace",
        "dbspace",
        "dbspace",
        "temporary dbspace",
    ]
    assert spaces["dbspaces_active"] == 5 and spaces["chunks_active"] == 6
    assert [c["dbspace"] for c in spaces["chunks"]] == [1, 2, 3, 4, 4, 5]


def test_onstat_l_of_the_fake_finds_the_current_log() -> None:
    logs = informix_parse.parse_onstat_l(fake_onstat("-l"))
    assert [g["uniqid"] for g in logs["logs"]] == [9, 10, 11, 12, 13, 14]
    assert [g["uniqid"] for g in logs["logs"] if g["current"]] == [14]
    assert logs["physical_log"]["physize"] == "524235"
    assert logs["logical_buffer"]["Buffer"] == "L-1"


def test_onstat_c_and_the_onconfig_file_give_the_same_pointers() -> None:
    shown = informix_parse.parse_onstat_c(fake_onstat("-c"))
    assert shown["config_file"] == "/opt/IBM/informix/etc/onconfig.ol_prod"
    on_disk = informix_parse.parse_onconfig((INSTALL / "etc/onconfig.ol_prod").read_text())
    for params in (shown["params"], on_disk):
        assert informix_parse.last_value(params, "MSGPATH") == "$INFORMIXDIR/tmp/online.log"
        assert informix_parse.last_value(params, "DUMPDIR") == "/var/informix/dumps"
        assert len(params["BUFFERPOOL"]) == 2
    assert "DBA" not in on_disk  # comments are not parameters


def test_sqlhosts_entries() -> None:
    entries = informix_parse.parse_sqlhosts((INSTALL / "etc/sqlhosts").read_text())
    assert [e["name"] for e in entries] == [
        "ol_prod",
        "ol_prod_shm",
        "ol_prod_ssl",
        "ol_test",
        "ol_dr",
    ]
    assert entries[1]["protocol"] == "onipcshm"
    assert entries[4] == {
        "name": "ol_dr",
        "protocol": "onsoctcp",
        "host": "dbhost02.example.com",
        "service": "9088",
        "options": "k=1,b=32767",
    }


def test_server_type_from_rss_dri_and_banner() -> None:
    rss = informix_parse.parse_onstat_g_rss(fake_onstat("-g rss"))
    dri = informix_parse.parse_onstat_g_dri(fake_onstat("-g dri"))
    assert dri["type"] == "standard" and dri["paired_server"] is None
    assert dri["last_dr_checkpoint"] == "-1/-1"
    assert rss["servers"][0]["name"] == "ol_dr" and rss["rss_count"] == 1
    assert informix.server_type(None, dri, rss) == "primary"
    assert informix.server_type(None, dri, {}) == "standard"
    assert informix.server_type({"type_mark": "SDS"}, {}, {}) == "sds"
    assert informix.server_type(None, {}, {}) is None


# --- the real samples (SOURCES.md, informix section) --------------------------------


def test_sample_onstat_l_has_8_logical_logs_numbered_5_to_12() -> None:
    text = (samples_dir("informix") / "onstat_l_14.10.FC4W1AEE.txt").read_text()
    logs = informix_parse.parse_onstat_l(text)
    assert [g["number"] for g in logs["logs"]] == list(range(5, 13))
    assert (logs["logs_active"], logs["logs_total"]) == (8, 8)
    assert [g["flags"] for g in logs["logs"] if g["used"]] == [
        "U-B-----",
        "U-B-----",
        "U-B---L-",
        "U---C---",
    ]
    assert sum(1 for g in logs["logs"] if g["flags"] == "A-------") == 4
    assert logs["physical_buffer"]["Buffer"] == "P-1"
    assert logs["physical_log"]["physize"] == "1048523"
    assert logs["physical_log"]["phybegin"] == "2:53"
    assert logs["logical_buffer"]["Buffer"] == "L-3"
    assert logs["banner"]["uptime"] == "01:13:37" and logs["banner"]["shared_memory_kb"] == 208392


def test_sample_onstat_d_has_6_dbspaces_and_6_chunks() -> None:
    text = (samples_dir("informix") / "onstat_d_14.10.FC4W1AEE.txt").read_text()
    spaces = informix_parse.parse_onstat_d(text)
    assert [s["name"] for s in spaces["dbspaces"]] == [
        "rootdbs",
        "plogspace",
        "llog",
        "work1",
        "temp1",
        "sbs1",
    ]
    assert (spaces["dbspaces_active"], spaces["dbspaces_maximum"]) == (6, 2047)
    assert len(spaces["chunks"]) == 6
    assert (spaces["chunks_active"], spaces["chunks_maximum"]) == (6, 32766)
    assert spaces["dbspaces"][5]["kind"] == "sbspace"
    assert spaces["dbspaces"][4]["kind"] == "temporary dbspace"
    assert spaces["banner"]["uptime"] == "01:14:45"


def test_sample_onstat_m_11_50_has_16_time_lines() -> None:
    text = (samples_dir("informix") / "onstat_m_11.50.FC8.txt").read_text()
    tail = informix_parse.parse_onstat_m(text)
    assert tail["banner"]["version"] == "11.50.FC8"
    assert tail["banner"]["state"] == "On-Line"
    assert tail["banner"]["uptime"] == "9 days 13:30:30"
    assert tail["banner"]["shared_memory_kb"] == 101950928
    assert tail["message_log"] == "/informix/online_gsbys.log"
    assert tail["time_lines"] == 16
    assert sum("Checkpoint Completed" in line for line in tail["lines"]) == 2
    backups = [line for line in tail["lines"] if line.endswith("- Backup Completed")]
    assert [line.split()[3] for line in backups] == ["1840403", "1840404", "1840405"]
    extents = [line for line in tail["lines"] if "no more extents" in line]
    assert len(extents) == 1 and "cashbill:informix.session_status" in extents[0]


def test_sample_cucm_capture_gives_version_log_and_config() -> None:
    text = (samples_dir("informix") / "onstat_V_m_c_b_cucm_showtechdbstateinfo.txt").read_text()
    parts = sections(text)
    assert set(parts) == {"-V", "-m", "-c", "-b"}
    serial = informix_parse.parse_onstat_v(parts["-V"])
    assert serial["version"] == "12.10.UC7X3" and serial["serial_number"] == "AAA#B000000"
    level = informix_parse.parse_level(serial["version"])
    assert (level["fix_pack"], level["interim"], level["edition"]) == ("UC7", "X3", None)
    tail = informix_parse.parse_onstat_m(parts["-m"])
    assert tail["banner"]["state"] == "On-Line"
    assert tail["banner"]["uptime"] == "3 days 06:07:15"
    assert tail["banner"]["shared_memory_kb"] == 286648
    assert tail["message_log"] == "/var/log/active/cm/log/informix/ccm.log"
    assert len(tail["lines"]) == tail["time_lines"] == 13
    assert sum("Checkpoint Completed" in line for line in tail["lines"]) == 3
    config = informix_parse.parse_onstat_c(parts["-c"])
    assert config["config_file"] == "/usr/local/cm/db/informix/etc/onconfig"


def test_sample_dri_and_rss_give_types_and_states() -> None:
    folder = samples_dir("informix")

    def parsed(name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        text = (folder / name).read_text()
        banner = informix_parse.parse_banner(text)
        assert banner is not None
        return (
            banner,
            informix_parse.parse_onstat_g_dri(text),
            informix_parse.parse_onstat_g_rss(text),
        )

    banner, dri, _ = parsed("onstat_g_dri_primary.txt")
    assert banner["state"] == "On-Line (Prim)"
    assert (dri["type"], dri["state"], dri["paired_server"]) == ("primary", "on", "ifx2_dr")
    assert dri["settings"]["HDR_TXN_SCOPE"] == "NEAR_SYNC"
    assert dri["last_log_page_applied"] == "31,4837"
    assert informix.server_type(banner, dri, {}) == "primary"

    banner, dri, _ = parsed("onstat_g_dri_secondary.txt")
    assert banner["state"] == "Read-Only (Sec)"
    assert (dri["type"], dri["paired_server"]) == ("HDR Secondary", "ifx1_dr")
    assert dri["last_log_page_applied"] == "0,0"
    assert informix.server_type(banner, dri, {}) == "secondary"

    banner, _, rss = parsed("onstat_g_rss_on_rss_server.txt")
    assert banner["state"] == "Read-Only (RSS)"
    assert rss["local_server_type"] == "RSS" and rss["source_server"] == "ifx1_dr"
    assert rss["last_log_page_received"] == "20,45822"
    assert informix.server_type(banner, {}, rss) == "rss"

    for name, status, connection, page, uptime in (
        ("onstat_g_rss_primary_defined.txt", "Defined", "Disconnected", "0,0", "02:46:34"),
        ("onstat_g_rss_primary_connected.txt", "Active", "Connected", "20,45823", "05:27:59"),
    ):
        banner, _, rss = parsed(name)
        assert rss["local_server_type"] == "Primary" and rss["rss_count"] == 1
        assert rss["servers"] == [
            {"name": "ifx2_dr", "status": status, "connection": connection, "next_log_page": page}
        ]
        assert banner["uptime"] == uptime
        assert informix.server_type(banner, {}, rss) == "primary"


def test_sample_oninit_v_keeps_succeeded_lines_inside_the_time_records() -> None:
    data = (samples_dir("informix") / "oninit_v_12.10.FC3IE_docker_build.txt").read_bytes()
    found = records(data)
    assert len(found) == 14
    assert all(re.match(r"\d\d:\d\d:\d\d  ", r.text) for r in found)
    assert "16:10:18  IBM Informix Dynamic Server Started." in [r.text for r in found]
    assert sum(r.text.count("...succeeded") for r in found) == 35
    assert found[-1].text.endswith("Verbose output complete: mode = 5")
    # No date header in the capture: the times cannot be dated.
    assert all(r.timestamp is None for r in found)
    assert "\n".join(r.text for r in found).count("[0m[91m") == 2
    assert "\n".join(r.text for r in found) + "\n" == data.decode()


# --- the message log format ----------------------------------------------------------


def test_fixture_online_log_records_take_their_date_from_the_day_header() -> None:
    found = [r for r in records((INSTALL / "tmp/online.log").read_bytes()) if r.text]
    by_text = {r.text.split("\n")[0]: r for r in found}
    header = by_text["Mon Mar  4 09:15:02 2024"]
    assert header.timestamp is not None
    assert header.timestamp.replace(tzinfo=None) == datetime(2024, 3, 4, 9, 15, 2)
    assert header.timestamp.utcoffset() is not None  # timezone-aware (local time)

    def moment(prefix: str) -> datetime:
        record = next(r for r in found if r.text.startswith(prefix))
        assert record.timestamp is not None
        return record.timestamp.replace(tzinfo=None)

    assert moment("23:55:40  Checkpoint Completed") == datetime(2024, 3, 4, 23, 55, 40)
    assert moment("00:00:14  Logical Log 12") == datetime(2024, 3, 5, 0, 0, 14)
    assert moment("08:05:14  Checkpoint Statistics") == datetime(2024, 3, 6, 8, 5, 14)
    who = next(r for r in found if "Who: Session(61" in r.text)
    assert who.text.endswith("File: mtex.c Line: 506")  # continuation lines stay whole
    assert next(r for r in found if "Assert Failed" in r.text).level == "error"
    assert next(r for r in found if "ISAM error: -951" in r.text).message_id == "-951"
    assert moment("09:15:13  Logical Recovery Complete.") == datetime(2024, 3, 4, 9, 15, 13)
    assert len([r for r in found if r.level is None]) == 3  # the three day headers


def test_time_before_the_header_time_is_the_next_day_until_a_new_header() -> None:
    log = (
        b"Wed Mar 15 23:58:52 2022\n"
        b"23:59:10  before midnight\n"
        b"00:00:05  after midnight, no header yet\n"
        b"Thu Mar 16 00:10:00 2022\n"
        b"00:10:00  under the new header\n"
        b"03/17/22 00:11:00  MSG_DATE 1 puts the date on each line\n"
    )
    stamps = [r.timestamp.replace(tzinfo=None) for r in records(log) if r.timestamp]
    assert stamps == [
        datetime(2022, 3, 15, 23, 58, 52),
        datetime(2022, 3, 15, 23, 59, 10),
        datetime(2022, 3, 16, 0, 0, 5),
        datetime(2022, 3, 16, 0, 10),
        datetime(2022, 3, 16, 0, 10),
        datetime(2022, 3, 17, 0, 11),
    ]


def test_day_header_is_found_however_far_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy day writes far more than one backward read: the header still
    dates its last record; a time line before any header stays undated."""
    monkeypatch.setattr(informix_parse, "SCAN", 97)
    filler = b"".join(b"12:00:%02d  filler line number %04d\n" % (n % 60, n) for n in range(300))
    log = b"11:00:00  before any header\n" + b"Wed Mar 15 11:58:52 2022\n" + filler
    found = records(log)
    assert found[0].timestamp is None
    assert found[2].timestamp is not None
    assert found[-1].timestamp is not None  # its header is ~10 kB and 100 reads back
    assert found[-1].timestamp.replace(tzinfo=None) == datetime(2022, 3, 15, 12, 0, 59)
    monkeypatch.undo()
    busy = b"Wed Mar 15 11:58:52 2022\n" + filler * 250  # 2.5 MiB in one day
    last = b"23:59:00  the day's last record\n"
    fmt = OnlineLog()
    header = fmt.record_start.match(last)
    assert header is not None
    stamp = fmt.timestamp(header, io.BytesIO(busy + last), len(busy))
    assert stamp is not None
    assert stamp.replace(tzinfo=None) == datetime(2022, 3, 15, 23, 59)


def test_cached_walk_dates_records_like_a_fresh_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a real file the format remembers the headers it found; a walk over the
    records, and probes in any order, must date each one as a fresh lookup does.
    Small backward reads put every boundary case within a few KiB."""
    monkeypatch.setattr(informix_parse, "SCAN", 97)
    start = datetime(2024, 2, 27, 22, 0)
    moments = [start + timedelta(minutes=37 * n) for n in range(400)]
    # Some long records: a day's header is many reads back from its late records.
    chunks, _ = online_log_chunks(
        [(m, [f"m{n} " + "x" * (n % 5) * 60]) for n, m in enumerate(moments)]
    )
    undated = [b"21:%02d:00  u%d before the first header\n" % (n, n) for n in range(20)]
    path = tmp_path / "online.log"
    path.write_bytes(b"".join(undated + chunks))
    with path.open("rb") as stream:
        walked = list(iter_records(stream, OnlineLog()))
    data = path.read_bytes()
    for record in walked:
        fresh = OnlineLog()
        line = data[record.offset : data.index(b"\n", record.offset) + 1]
        header = fresh.record_start.match(line)
        assert header is not None
        assert record.timestamp == fresh.timestamp(header, io.BytesIO(data), record.offset)
    # Out of order, as window_start's bisection probes: the same answers.
    shuffled = sorted(walked, key=lambda r: (r.offset * 7919) % 1009)
    with path.open("rb") as stream:
        probing = OnlineLog()
        for record in shuffled:
            line = data[record.offset : data.index(b"\n", record.offset) + 1]
            header = probing.record_start.match(line)
            assert header is not None
            assert probing.timestamp(header, stream, record.offset) == record.timestamp
    timed = [(r.text.split()[1], r.timestamp) for r in walked if r.text[2:3] == ":"]
    assert len(timed) == 420
    assert [stamp for name, stamp in timed if name.startswith("u")] == [None] * 20
    for name, stamp in timed:
        if name.startswith("m"):
            assert stamp == moments[int(name[1:])].astimezone()


def test_window_start_bisects_to_the_first_record_in_the_window(tmp_path: Path) -> None:
    start = datetime(2024, 5, 1, 0, 3)
    moments = [start + timedelta(minutes=5 * n) for n in range(10 * 288)]
    chunks, stamps = online_log_chunks(
        [(m, [f"Checkpoint Completed: n={i}"]) for i, m in enumerate(moments)]
    )
    path = tmp_path / "online.log"
    path.write_bytes(b"".join(chunks))
    since = datetime(2024, 5, 7, 13, 1).astimezone()
    with path.open("rb") as stream:
        offset = window_start(stream, path.stat().st_size, OnlineLog(), since)
    first = next(i for i, moment in enumerate(stamps) if moment.astimezone() >= since)
    assert offset == sum(len(c) for c in chunks[:first])


class CountingFile(io.FileIO):
    """A file that counts the bytes read from it (what a window costs in I/O)."""

    bytes_read = 0

    def readinto(self, buffer: Any) -> int | None:
        count = super().readinto(buffer)
        self.bytes_read += count or 0
        return count

    def read(self, size: int | None = -1) -> bytes | None:
        data = super().read(size)
        self.bytes_read += len(data or b"")
        return data


def test_window_start_on_days_of_many_mib_reads_a_small_part_of_the_log(
    tmp_path: Path,
) -> None:
    """1.5 MiB a day for 24 days: the record to start from has its day header
    more than 1 MiB back, and bisection finds it exactly while reading a small
    part of the file (every probe reads back to its day's header at most once)."""
    start = datetime(2024, 5, 1, 0, 0, 30)
    body = "x" * 400
    moments = [start + timedelta(seconds=20 * n) for n in range(24 * 4320)]
    chunks, stamps = online_log_chunks(
        [(m, [f"Checkpoint Completed: n={i} {body}"]) for i, m in enumerate(moments)]
    )
    path = tmp_path / "online.log"
    path.write_bytes(b"".join(chunks))
    size = path.stat().st_size
    since = datetime(2024, 5, 18, 19, 0, 5).astimezone()  # late in a day: > 1 MiB after 00:00
    first = next(i for i, moment in enumerate(stamps) if moment.astimezone() >= since)
    expected = sum(map(len, chunks[:first]))
    header = next(i for i, moment in enumerate(stamps) if moment.date() == since.date())
    assert expected - sum(map(len, chunks[:header])) > 1024 * 1024
    raw = CountingFile(path)
    with io.BufferedReader(raw) as stream:
        assert window_start(stream, size, OnlineLog(), since) == expected
    assert raw.bytes_read < size / 8
    print(f"read {raw.bytes_read / size:.1%} of {size / 2**20:.0f} MiB")


def test_non_utf8_message_log_keeps_every_byte() -> None:
    log = b"Wed Mar 15 11:58:52 2022\n11:58:53  Caf\xe9 \xff table 'clients'\n"
    found = records(log)
    assert found[1].text.encode("latin-1") == log.split(b"\n")[1]


def test_redaction_rules_mask_informix_sql_passwords() -> None:
    rules = (*BASELINE_RULES, *Informix.redaction_rules)
    text = (
        b"12:00:00  CREATE USER bob WITH PASSWORD 'S3cr3t one';\n"
        b'12:00:01  ALTER USER bob MODIFY PASSWORD "Other-2"\n'
        b"12:00:02  CONNECT TO 'stores@ol_prod' USER 'bob' USING 'Third#3'\n"
        b"12:00:03  Password policy changed; using default settings\n"
    )
    out, hits = redact_bytes(text, rules)
    assert hits == 3
    for secret in (b"S3cr3t one", b"Other-2", b"Third#3"):
        assert secret not in out
    assert b"USING '********'" in out and b"Password policy changed" in out


# --- discovery and follow-up -----------------------------------------------------------


def context(env: dict[str, str] | None = None, **selection: str) -> Context:
    host = Host(sysroot=FIXTURE / "sysroot", env=env or {"PATH": "/nonexistent"})
    return Context(host=host, selection=selection)


def test_discovery_finds_each_onconfig_server_but_not_templates_or_copies() -> None:
    found = informix.discover(context())
    assert found.install_path == "/opt/IBM/informix"
    assert [s.name for s in found.servers] == ["ol_prod", "ol_test"]
    prod = found.servers[0]
    assert prod.onconfig == "/opt/IBM/informix/etc/onconfig.ol_prod"
    assert prod.msgpath == "/opt/IBM/informix/tmp/online.log"  # $INFORMIXDIR expanded
    assert prod.dumpdir == "/var/informix/dumps"
    assert prod.aliases == ("ol_prod_shm", "ol_prod_ssl")
    assert prod.env(found.install_path) == {
        "INFORMIXSERVER": "ol_prod",
        "INFORMIXDIR": "/opt/IBM/informix",
        "ONCONFIG": "onconfig.ol_prod",
    }
    assert found.sqlhosts == "/opt/IBM/informix/etc/sqlhosts"


def test_discovery_puts_informixserver_first_and_honours_instance() -> None:
    env = {"INFORMIXDIR": "/opt/IBM/informix", "INFORMIXSERVER": "ol_test"}
    assert [s.name for s in informix.discover(context(env)).servers] == ["ol_test", "ol_prod"]
    chosen = informix.discover(context(env, instance="ol_prod"))
    assert [s.name for s in chosen.servers] == ["ol_prod"]
    assert chosen.servers_found == ("ol_prod", "ol_test")
    unknown = informix.discover(context(env, instance="ol_new")).servers[0]
    assert (unknown.name, unknown.found_in) == ("ol_new", "--instance")


def test_relative_informix_paths_are_ignored_not_fatal() -> None:
    env = {"INFORMIXDIR": "informix", "INFORMIXSQLHOSTS": "sqlhosts", "INFORMIXSERVER": "ol_x"}
    found = informix.discover(context(env))
    assert found.install_path == "/opt/IBM/informix"  # the standard folder instead
    assert found.sqlhosts is None
    assert "ol_x" in found.servers_found


def test_discovery_falls_back_to_sqlhosts_and_stays_bounded(tmp_path: Path) -> None:
    etc = tmp_path / "opt/informix/etc"
    etc.mkdir(parents=True)
    etc.joinpath("sqlhosts").write_text(
        "".join(f"srv{n:02d} onsoctcp host{n} {9000 + n}\n" for n in range(15))
    )
    host = Host(sysroot=tmp_path, env={"PATH": "/nonexistent"})
    found = informix.discover(Context(host=host))
    assert len(found.servers_found) == 15
    assert [s.name for s in found.servers] == [f"srv{n:02d}" for n in range(10)]
    assert {s.found_in for s in found.servers} == {"sqlhosts"}


def test_follow_up_collects_what_onstat_reports_when_onconfig_did_not(tmp_path: Path) -> None:
    staged = {
        "installation": {
            "install_path": "/opt/IBM/informix",
            "servers": [{"name": "ol_prod", "msgpath": None, "dumpdir": None}],
        },
        "ol_prod_onstat_-m": fake_onstat("-m"),
        "ol_prod_onstat_-c": fake_onstat("-c").replace(
            "DUMPDIR /var/informix/dumps", "DUMPDIR $INFORMIXDIR/dumps"
        ),
    }
    paths = {}
    for name, value in staged.items():
        paths[name] = tmp_path / name
        paths[name].write_text(value if isinstance(value, str) else json.dumps(value))
    more = Informix().follow_up(context(), Collected({n: {n: p} for n, p in paths.items()}))
    logs = [s for s in more if isinstance(s, LogSpec)]
    assert [s.pattern for s in logs] == [
        "/opt/IBM/informix/tmp/online.log",
        "/opt/IBM/informix/tmp/online.log.[0-9]*",
    ]
    listing = [s for s in more if isinstance(s, FactSpec)]
    assert listing[0].name == "assertion_failure_files_reported"
    host = Host(sysroot=FIXTURE / "sysroot")
    assert listing[0].collect(host)["ol_prod"] == {
        "dumpdir": "/opt/IBM/informix/dumps",
        "count": 0,
        "files": [],
    }


# --- end to end ----------------------------------------------------------------------


def open_bundle(
    host: FakeHost, run_pa: RunPa, target: Path, *extra: str, **env: str
) -> dict[str, Any]:
    """Collect informix on the fake host and extract the bundle with 7z."""
    result = run_pa(
        "--product",
        "informix",
        "--batch",
        "--json",
        "--sysroot",
        str(host.sysroot),
        "--output",
        str(host.out),
        *CUSTOMER,
        *extra,
        env=host.env(**env),
    )
    assert result.returncode == 0, result.stderr
    return extract(only_bundle(host.out), target)


def items(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in manifest["items"] if i["plugin"] == "informix"]


def test_fake_installation_yields_facts_and_no_secrets(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, tmp_path: Path
) -> None:
    host = product_host("informix")
    target = tmp_path / "x"
    manifest = open_bundle(host, run_pa, target, "--since", "all")
    facts = manifest["facts"]["informix"]
    assert schema_errors(facts) == []
    assert facts["product"] == "IBM Informix Dynamic Server"
    assert (facts["version"], facts["release"], facts["fix_pack"]) == (
        "14.10.FC10",
        "14.10",
        "FC10",
    )
    assert facts["fix_pack_level"] == "FC10" and facts["build_level"] == "241"
    assert facts["install_path"] == "/opt/IBM/informix"
    assert facts["license"]["serial_number"] == "AAA#B000000"
    assert facts["servers_found"] == ["ol_prod", "ol_test"]
    prod, test = facts["servers"]
    assert prod["name"] == "ol_prod" and prod["state"] == "On-Line" and prod["type"] == "primary"
    assert prod["uptime_seconds"] == 183845 and prod["shared_memory_kb"] == 1133412
    # onstat ran with this server's INFORMIXDIR and ONCONFIG (the fake refuses others).
    assert prod["onconfig"] == "/opt/IBM/informix/etc/onconfig.ol_prod"
    assert prod["msgpath"] == prod["message_log"] == "/opt/IBM/informix/tmp/online.log"
    assert prod["dumpdir"] == "/var/informix/dumps"
    assert (prod["dbspaces"], prod["chunks"], prod["logical_logs"]) == (5, 6, 6)
    assert prod["rss_servers"] == ["ol_dr"] and prod["assertion_failure_files"] == 2
    assert test["name"] == "ol_test" and test["state"] == "Off-Line" and test["dbspaces"] is None
    assert test["dumpdir"] == "/opt/IBM/informix/tmp"
    assert [e["name"] for e in facts["sqlhosts_entries"]][:2] == ["ol_prod", "ol_prod_shm"]

    everything = b"".join(p.read_bytes() for p in target.rglob("*") if p.is_file())
    for secret in PLANTED:
        for form in (secret.encode(), base64.b64encode(secret.encode())):
            assert form not in everything, f"{secret} leaked"
    collected = {Path(i["source"]).name: i for i in items(manifest)}
    for name in ("ol_prod.kdb", "ol_prod.sth"):
        assert collected[name]["secret"] is True and collected[name]["outcome"] == "skipped"
        assert collected[name]["path"] is None
    assert not [p for p in target.rglob("*") if p.suffix in (".kdb", ".sth")]
    assert collected["ol_prod.arm"]["outcome"] == "ok"
    # The af.* files are listed, never read.
    listing = json.loads((target / collected["fact:assertion_failure_files"]["path"]).read_text())
    assert sorted(f["name"] for f in listing["ol_prod"]["files"]) == ["af.3f2a1b", "af.3f2a1c"]
    assert {f["size"] for f in listing["ol_prod"]["files"]} == {90, 38}
    assert not any(i["source"].endswith(("af.3f2a1b", "af.3f2a1c")) for i in items(manifest))
    log = (target / collected["online.log"]["path"]).read_text()
    assert "PASSWORD '********'" in log and "USING '********'" in log
    assert "onconfig.ol_prod.bak" not in collected and "onconfig.std" not in collected


def online_log_chunks(
    entries: list[tuple[datetime, list[str]]],
) -> tuple[list[bytes], list[datetime]]:
    """Records written the way IDS writes them, a date header whenever the day
    changes; each chunk (header or record) with the time it carries."""
    chunks, stamps = [], []
    day = None
    for moment, lines in entries:
        if moment.date() != day:
            day = moment.date()
            weekday, month = WEEKDAYS[moment.weekday()], MONTHS[moment.month - 1]
            header = f"{weekday} {month} {moment.day:2d} {moment:%H:%M:%S} {moment.year}\n\n"
            chunks.append(header.encode())
            stamps.append(moment)
        text = f"{moment:%H:%M:%S}  " + "\n".join(lines) + "\n"
        chunks.append(text.encode("latin-1"))
        stamps.append(moment)
    return chunks, stamps


def write_recent_log(host: FakeHost) -> tuple[list[bytes], list[datetime]]:
    now = datetime.now().replace(microsecond=0)
    chunks, stamps = online_log_chunks(
        [
            (now - timedelta(days=20), ["Checkpoint Completed:  duration was 0 seconds."]),
            (now - timedelta(days=3), ["Logical Log 20 - Backup Completed"]),
            (now - timedelta(hours=30), ["Assert Warning: lock table overflow", "\t\tdetail"]),
            (
                now - timedelta(hours=20),
                [
                    "Assert Failed: No Exception Handler",
                    "\t\tWho: Session(7, app@dbhost01, 4242, 0x45a0)",
                    "\t\tFile: mtex.c Line: 506 Caf\xe9",
                    "\t\tSQL: CREATE USER x WITH PASSWORD 'PLANTED-INFORMIX-09'",
                ],
            ),
            (now - timedelta(hours=1), ["Checkpoint Completed:  duration was 2 seconds.", ""]),
        ]
    )
    path = host.sysroot / "opt/IBM/informix/tmp/online.log"
    path.write_bytes(b"".join(chunks))
    return chunks, stamps


@pytest.mark.parametrize(("since", "age"), [("1d", timedelta(days=1)), (None, timedelta(days=14))])
def test_since_keeps_exactly_the_records_in_the_window(
    product_host: Callable[[str], FakeHost],
    run_pa: RunPa,
    tmp_path: Path,
    since: str | None,
    age: timedelta,
) -> None:
    host = product_host("informix")
    chunks, stamps = write_recent_log(host)
    cutoff = datetime.now() - age
    manifest = open_bundle(host, run_pa, tmp_path / "x", *(["--since", since] if since else []))
    item = next(i for i in items(manifest) if i["source"] == "/opt/IBM/informix/tmp/online.log")
    kept = (tmp_path / "x" / item["path"]).read_bytes()
    expected = b"".join(c for c, moment in zip(chunks, stamps, strict=True) if moment >= cutoff)
    assert kept == expected.replace(b"PLANTED-INFORMIX-09", b"********")
    assert b"Caf\xe9" in kept  # a Latin-1 byte passes untouched
    if since == "1d":
        assert b"Assert Failed" in kept and b"Assert Warning" not in kept
        assert [r.text.split("  ")[1][:14] for r in records(kept) if r.level] == [
            "Assert Failed:",
            "Checkpoint Com",
        ]
    else:
        assert b"Logical Log 20" in kept and b"duration was 0 seconds" not in kept


def test_instance_collects_only_the_chosen_server(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, tmp_path: Path
) -> None:
    host = product_host("informix")
    manifest = open_bundle(host, run_pa, tmp_path / "x", "--instance", "ol_test", "--since", "all")
    facts = manifest["facts"]["informix"]
    assert [s["name"] for s in facts["servers"]] == ["ol_test"]
    assert facts["servers_found"] == ["ol_prod", "ol_test"]
    names = [i["name"] for i in items(manifest)]
    assert "ol_test_onstat_-m" in names and not [n for n in names if n.startswith("ol_prod")]
    sources = {i["source"] for i in items(manifest)}
    assert "/opt/IBM/informix/tmp/online_test.log" in sources
    assert "/opt/IBM/informix/tmp/online.log" not in sources
    assert schema_errors(facts) == []


def test_message_log_from_onstat_when_onconfig_lacks_msgpath(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, tmp_path: Path
) -> None:
    host = product_host("informix")
    onconfig = host.sysroot / "opt/IBM/informix/etc/onconfig.ol_prod"
    onconfig.write_text(re.sub(r"(?m)^MSGPATH .*\n", "", onconfig.read_text()))
    manifest = open_bundle(host, run_pa, tmp_path / "x", "--instance", "ol_prod", "--since", "all")
    log = next(i for i in items(manifest) if i["name"] == "ol_prod_reported_message_log")
    assert log["source"] == "/opt/IBM/informix/tmp/online.log" and log["outcome"] == "ok"
    assert manifest["facts"]["informix"]["servers"][0]["msgpath"] is None


def test_plugins_says_informix_does_not_apply_on_this_machine(
    run_pa: RunPa, tmp_path: Path
) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = run_pa("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    row = next(p for p in json.loads(result.stdout)["plugins"] if p["name"] == "informix")
    assert row["applies"] is False
    for looked_for in ("command onstat", "/opt/IBM/informix", "$INFORMIXDIR", "onconfig"):
        assert looked_for in row["reason"]


def test_plugins_says_why_informix_applies_on_the_fake_host(
    product_host: Callable[[str], FakeHost], run_pa: RunPa
) -> None:
    host = product_host("informix")
    env = host.env(INFORMIXDIR="/opt/IBM/informix", ONCONFIG="onconfig.ol_prod")
    result = run_pa("plugins", "--json", "--sysroot", str(host.sysroot), env=env)
    row = next(p for p in json.loads(result.stdout)["plugins"] if p["name"] == "informix")
    assert row["applies"] is True
    assert row["reason"] == "onconfig file /opt/IBM/informix/etc/onconfig.ol_prod found"


def test_backward_header_search_confirms_each_weekday_candidate() -> None:
    block = (
        b"Wed Mar 15 11:58:52 2023\n"
        b"11:59:00  Mon dieu: not a header\n"
        b"Thu Mar 16 00:00:00 2023\n"
        b"Fri the 13th is a message, not a header\n"
        b"00:00:01  Checkpoint Completed\n"
    )
    found = [m.group(0).strip() for m in informix_parse.headers_backwards(block, 0)]
    assert found == [b"Thu Mar 16 00:00:00 2023", b"Wed Mar 15 11:58:52 2023"]
    second_line = block.index(b"11:59")
    assert [m.start() for m in informix_parse.headers_backwards(block, second_line)] == [
        block.index(b"Thu")
    ]
