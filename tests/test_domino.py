"""The domino plugin: parsers, discovery, redaction and end-to-end collection on a
fake Domino 12.0.2 FP2 installation (tests/data/domino)."""

from __future__ import annotations

import base64
import io
import json
import os
import posixpath
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from collector.plugins.domino import (
    REDACTION_RULES,
    Domino,
    discover,
    is_domino_server,
    release_evidence,
    server_state,
)
from collector.plugins.domino_parse import (
    AccessLogFormat,
    ConsoleLogFormat,
    access_summary,
    console_datetime,
    notes_ini_facts,
    parse_access_line,
    parse_banner,
    parse_console_line,
    parse_install_dat,
    parse_notes_ini,
    parse_nsd_header,
    parse_nsd_name,
    parse_shell_config,
    release_from_evidence,
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

from collector.host import Host
from collector.logwindow import iter_records
from collector.plugin import Context
from collector.redact import BASELINE_RULES, redact_bytes
from collector.schema import schema_errors

FIXTURE = DATA / "domino" / "sysroot"
DATA_DIR = "/local/notesdata"
DIAG = f"{DATA_DIR}/IBM_TECHNICAL_SUPPORT"
NSD_NEW = "nsd_all_Linux_domino01_2023_03_21@10_15_02.log"
NSD_OLD = "nsd_all_Linux_domino01_2023_03_20@08_00_00.log"
SCHEMA = json.loads(
    (Path(__file__).parent.parent / "schemas" / "facts_domino.schema.json").read_text()
)
PLANTED = [
    "PLANTED-DOMINO-01",
    "PLANTED DOMINO 02 has spaces",
    "DOMINO 02 has spaces",
    "PLANTED-DOMINO-03",
    "PLANTED-DOMINO-04",
    "PLANTED-DOMINO-05",
    "PLANTED-DOMINO-06",
    "PLANTED DOMINO 08",
    "PLANTED-DOMINO-09",
    "PLANTED DOMINO 10",
    "DOMINO 10 spaced",
    "PLANTED-DOMINO-ID-SERVER-11",
    "PLANTED-DOMINO-ID-CERT-12",
    "PLANTED-DOMINO-KYR-13",
    "PLANTED-DOMINO-STH-14",
    "PLANTED-DOMINO-ID-USER-15",
]


# --- helpers --------------------------------------------------------------------


def console_stamp(moment: datetime) -> str:
    """A console.log date/time in the US format (MM/DD/YYYY hh:mm:ss AM)."""
    return moment.strftime("%m/%d/%Y %I:%M:%S %p")


def access_stamp(moment: datetime) -> str:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return (
        f"{moment.day:02d}/{months[moment.month - 1]}/{moment.year}:{moment:%H:%M:%S} {moment:%z}"
    )


def console_record(moment: datetime, text: str, *more: str, prefix: str = "") -> str:
    lines = [f"{prefix}{console_stamp(moment)}  {text}", *more]
    return "".join(line + "\n" for line in lines)


def access_record(moment: datetime, path: str, status: int = 200) -> str:
    request = f'"GET {path} HTTP/1.1" {status} 512'
    return f"192.0.2.7 www.acme.example - [{access_stamp(moment)}] {request}\n"


def domino_host(product_host: Callable[[str], FakeHost]) -> FakeHost:
    """The fake installation with NSD reports in a known age order."""
    host = product_host("domino")
    diag = host.sysroot / DIAG.lstrip("/")
    now = datetime.now(UTC).timestamp()
    os.utime(diag / NSD_OLD, (now - 7 * 86400, now - 7 * 86400))
    os.utime(diag / NSD_NEW, (now - 6 * 86400, now - 6 * 86400))
    return host


def collect_domino(host: FakeHost, run_pa: RunPa, *extra: str) -> Any:
    # TZ=UTC: the console log's naive times are read as the collector's local time.
    return run_pa(
        "--product",
        "domino",
        "--batch",
        "--json",
        "--sysroot",
        str(host.sysroot),
        "--output",
        str(host.out),
        *CUSTOMER,
        *extra,
        env=host.env(TZ="UTC"),
    )


def collected(host: FakeHost, run_pa: RunPa, tmp_path: Path, *extra: str) -> dict[str, Any]:
    result = collect_domino(host, run_pa, *extra)
    assert result.returncode == 0, result.stderr
    assert no_traceback(result)
    return extract(only_bundle(host.out), tmp_path / "x")


def item(manifest: dict[str, Any], source: str) -> dict[str, Any]:
    found = [i for i in manifest["items"] if i["source"] == source]
    assert found, f"{source} not in the manifest"
    return found[0]


def bundle_text(tmp_path: Path, manifest: dict[str, Any], source: str) -> str:
    return (tmp_path / "x" / item(manifest, source)["path"]).read_text()


def context(sysroot: Path, **selection: str) -> Context:
    return Context(host=Host(sysroot=sysroot, env={}), selection=selection)


# --- console.log ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "pid", "thread", "moment", "text"),
    [
        (
            "[0D14:0027-1334] 03/21/2023 10:15:02 AM  Router: Mail Router started",
            "0D14",
            "1334",
            datetime(2023, 3, 21, 10, 15, 2),
            "Router: Mail Router started",
        ),
        (
            "[28325:00010-3735542592] 21.03.2023 10:15:02   HTTP Server: Started",
            "28325",
            "3735542592",
            datetime(2023, 3, 21, 10, 15, 2),
            "HTTP Server: Started",
        ),
        (
            "[028325:000010-00007F1A2B3C4700] 03/21/2023 10:15:02 PM Server started",
            "028325",
            "00007F1A2B3C4700",
            datetime(2023, 3, 21, 22, 15, 2),
            "Server started",
        ),
        (
            "03/21/2023 12:05:00 AM  AMgr: Executive '1' started",
            None,
            None,
            datetime(2023, 3, 21, 0, 5, 0),
            "AMgr: Executive '1' started",
        ),
        # 24-hour clock: the AMgr task name is not an AM marker.
        (
            "21.03.2023 14:05:00   AMgr: Executive '1' started",
            None,
            None,
            datetime(2023, 3, 21, 14, 5, 0),
            "AMgr: Executive '1' started",
        ),
    ],
)
def test_console_line_forms(
    line: str, pid: str | None, thread: str | None, moment: datetime, text: str
) -> None:
    parsed = parse_console_line(line)
    assert parsed is not None
    assert (parsed["pid"], parsed["thread"], parsed["timestamp"], parsed["text"]) == (
        pid,
        thread,
        moment,
        text,
    )


def test_console_continuation_lines_are_not_records() -> None:
    assert parse_console_line("\tat com.acme.Agent.run(Agent.java:42)") is None
    banner = "[028325:000002-00007F1A2B3C4700] HCL Domino (r) Server (64 Bit), Release 12.0.2FP2"
    assert parse_console_line(banner) is None


def test_date_order_rule_for_ambiguous_dates() -> None:
    # '/' is month first unless notes.ini says otherwise; '.' and '-' are day first.
    assert console_datetime("03/04/2023", "10:00:00") == datetime(2023, 3, 4, 10)
    assert console_datetime("03/04/2023", "10:00:00", date_order="DMY") == datetime(2023, 4, 3, 10)
    assert console_datetime("03.04.2023", "10:00:00") == datetime(2023, 4, 3, 10)
    assert console_datetime("03-04-2023", "10:00:00") == datetime(2023, 4, 3, 10)
    assert console_datetime("03.04.2023", "10:00:00", date_order="MDY") == datetime(2023, 3, 4, 10)
    # Impossible in the chosen order: read in the other one.
    assert console_datetime("21/03/2023", "10:00:00") == datetime(2023, 3, 21, 10)
    # A four-digit first field is always year-month-day; two-digit years are 20xx.
    assert console_datetime("2023/03/04", "10:00:00", date_order="DMY") == datetime(2023, 3, 4, 10)
    assert console_datetime("03/04/23", "01:00:00", "PM") == datetime(2023, 3, 4, 13)
    assert console_datetime("23/23/2023", "10:00:00") is None


def test_console_fixture_records_keep_continuation_lines_together() -> None:
    raw = (FIXTURE / DIAG.lstrip("/") / "console.log").read_bytes()
    records = list(iter_records(io.BytesIO(raw), ConsoleLogFormat()))
    # The banner opens the file without a timestamp: a record of its own.
    assert records[0].timestamp is None and "Release 12.0.2FP2" in records[0].text
    stamped = records[1:]
    assert len(stamped) == 9
    assert all(r.timestamp is not None and r.timestamp.tzinfo for r in stamped)
    assert stamped[0].timestamp and stamped[0].timestamp.date().isoformat() == "2023-03-19"
    jvm = next(r for r in stamped if "NullPointerException" in r.text)
    assert jvm.text.count("\n") == 2 and jvm.text.endswith("AgentBase.runNotes(Unknown Source)")
    fatal = stamped[-1]
    assert "Fatal Error" in fatal.text and "NSD command line" in fatal.text
    assert b"".join(r.text.encode() + b"\n" for r in records) == raw


def test_console_date_order_hint_changes_the_reading() -> None:
    raw = b"04/03/2023 10:00:00  Server started\n"
    (us,) = iter_records(io.BytesIO(raw), ConsoleLogFormat())
    (eu,) = iter_records(io.BytesIO(raw), ConsoleLogFormat("DMY"))
    assert us.timestamp and us.timestamp.month == 4
    assert eu.timestamp and eu.timestamp.month == 3


def test_non_utf8_console_log_does_not_crash() -> None:
    raw = b"03/21/2023 10:00:00 AM  Router: Zustellung an J\xfcrgen fehlgeschlagen\n\xff\xfe\n"
    (record,) = iter_records(io.BytesIO(raw), ConsoleLogFormat())
    assert record.timestamp is not None
    assert "J\ufffdrgen" in record.text and record.text.count("\n") == 1


def test_fail2ban_sample_parses_every_timestamp_form() -> None:
    raw = (samples_dir("domino") / "domino-smtp_fail2ban.log").read_bytes()
    assert len(raw) == 1220 and raw.count(b"\n") == 9
    records = list(iter_records(io.BytesIO(raw), ConsoleLogFormat()))
    assert len(records) == 9
    assert all(r.timestamp is not None for r in records)
    lines = raw.decode().splitlines()
    parsed = [parse_console_line(line) for line in lines]
    assert all(p is not None for p in parsed)
    # Lines 1-3 are DD-MM-YYYY, lines 4-9 YYYY-MM-DD.
    unprefixed = [re.sub(r"^\[[0-9A-F:-]+\] ", "", line) for line in lines]
    assert all(re.match(r"\d{2}-\d{2}-\d{4} ", line) for line in unprefixed[:3])
    assert all(re.match(r"\d{4}-\d{2}-\d{2} ", line) for line in lines[3:])
    assert parsed[0] and parsed[0]["timestamp"] == datetime(2005, 7, 3, 23, 7, 20)
    assert parsed[2] and parsed[2]["timestamp"] == datetime(2014, 9, 8, 6, 14, 27)
    assert parsed[8] and parsed[8]["timestamp"] == datetime(2018, 9, 19, 17, 25, 52)
    # Line 2 carries the [pid:tid-thread] prefix; lines 8-9 carry the tags in the text.
    assert parsed[1] and (parsed[1]["pid"], parsed[1]["tid"], parsed[1]["thread"]) == (
        "28325",
        "00010",
        "3735542592",
    )
    assert parsed[7] and "SMTP Server [0D14:0027-1334]" in parsed[7]["text"]
    assert parsed[8] and "[000527:000013-0000001227564800]" in parsed[8]["text"]
    ips = [re.findall(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", line) for line in lines]
    assert ips[:4] == [["1.2.3.4"]] * 4
    assert ips[4] == ["192.0.2.4"] and ips[7] == ["192.0.2.1"] and ips[8] == ["192.0.2.2"]
    assert ips[5] == ips[6] == ["192.0.2.5"]
    assert lines[5].endswith("192.0.2.5 authentication failure using internet password")
    assert lines[6].endswith("192.0.2.5")


# --- HTTP access log ----------------------------------------------------------------


def test_access_sample_counts() -> None:
    text = (samples_dir("domino") / "domino_http_access_ncsa_ossec.log").read_text()
    assert len(text.encode()) == 2893 and text.count("\n") == 20
    summary = access_summary(text)
    assert summary == {
        "requests": 20,
        "status": {"200": 10, "404": 5, "304": 4, "302": 1},
        "vhosts": {"www.acmeco.com": 16, "msg.acmeco.com": 3, "intranet.acmeco.com": 1},
        "nsf": 17,
    }
    records = list(iter_records(io.BytesIO(text.encode()), AccessLogFormat()))
    assert len(records) == 20
    zone = timezone(-timedelta(hours=5))
    assert records[0].timestamp == datetime(2006, 11, 5, 0, 0, 13, tzinfo=zone)
    assert records[-1].timestamp == datetime(2006, 11, 5, 0, 52, 26, tzinfo=zone)
    assert [r.level for r in records].count("warning") == 5
    first = parse_access_line(text.splitlines()[0])
    assert first and (first["client"], first["vhost"], first["method"], first["bytes"]) == (
        "193.6.69.100",
        "www.acmeco.com",
        "GET",
        "65111",
    )
    assert first["path"] == "/webdb.nsf/MafzieandDmprneonjogr.pdf"


def test_access_line_with_referer_agent_and_spaced_user() -> None:
    line = (
        "198.51.100.9 mail.acme.example CN=Jane Doe/O=Acme [21/Mar/2023:10:15:02 +0100] "
        '"POST /mail/jdoe.nsf/?SaveDocument HTTP/1.1" 500 - "https://x/" "Mozilla/5.0"'
    )
    fields = parse_access_line(line)
    assert fields and fields["user"] == "CN=Jane Doe/O=Acme" and fields["agent"] == "Mozilla/5.0"
    assert fields["timestamp"] == datetime(2023, 3, 21, 9, 15, 2, tzinfo=UTC)
    (record,) = iter_records(io.BytesIO(line.encode() + b"\n"), AccessLogFormat())
    assert record.level == "error"


# --- release, notes.ini, NSD --------------------------------------------------------


def test_banner_release_forms() -> None:
    hcl = parse_banner(
        "[028325:000002-0A] HCL Domino (r) Server (64 Bit), Release 12.0.2FP2, March 14"
    )
    assert hcl == {
        "product": "HCL Domino",
        "version": "12.0.2",
        "fix_pack": "FP2",
        "interim_fix": None,
        "build_level": None,
    }
    ibm = parse_banner("IBM Domino (r) Server (64 Bit), Release 9.0.1FP10 HF383, January 15, 2018")
    assert ibm and (ibm["product"], ibm["version"], ibm["fix_pack"], ibm["interim_fix"]) == (
        "IBM Domino",
        "9.0.1",
        "FP10",
        "HF383",
    )
    old = parse_banner("Lotus Domino (r) Server, Build V85_M2_08202008, August 20, 2008")
    assert old and old["build_level"] == "V85_M2_08202008" and old["version"] is None
    assert parse_banner("Router: Mail Router started for domain ACME") is None


def test_nsd_header_and_name() -> None:
    diag = FIXTURE / DIAG.lstrip("/")
    new = parse_nsd_header((diag / NSD_NEW).read_text())
    old = parse_nsd_header((diag / NSD_OLD).read_text())
    assert new and (new["version"], new["fix_pack"]) == ("12.0.2", "FP2")
    assert old and (old["version"], old["fix_pack"]) == ("12.0.2", "FP1")
    assert parse_nsd_header("nothing here\n") is None
    assert parse_nsd_name(NSD_NEW) == datetime(2023, 3, 21, 10, 15, 2)
    assert parse_nsd_name("nsd.log") is None


def test_notes_ini_facts_from_fixture() -> None:
    ini = parse_notes_ini((FIXTURE / "local/notesdata/notes.ini").read_text())
    facts = notes_ini_facts(ini)
    assert facts["server_name"] == "CN=domino01/O=Acme"
    assert facts["domain"] == "Acme"
    assert facts["server_id_file"] == "server.id"
    assert facts["kit_type"] == "server"
    assert facts["server_tasks"][:3] == ["Replica", "Router", "Update"]
    assert len(facts["server_tasks"]) == 11
    assert facts["nsf_buffer_pool_size_mb"] == 1024
    assert facts["program_directory"] == "/opt/hcl/domino/notes/latest/linux"


def test_notes_ini_variants() -> None:
    ini = parse_notes_ini(
        "ServerKeyFileName=/local/notesdata/ids/server.id\nKitType=1\n"
        "NSF_Buffer_Pool_Size=536870912\nDateOrder=dmy\nMailServer=CN=mail1/O=Acme\n"
        "Domain=First\ndomain=Second\n"
    )
    facts = notes_ini_facts(ini)
    assert facts["server_id_file"] == "server.id"  # the name only, never the path
    assert facts["kit_type"] == "client"
    assert facts["nsf_buffer_pool_size_mb"] == 512
    assert facts["date_order"] == "DMY"
    assert facts["server_name"] == "CN=mail1/O=Acme"  # no ServerName: MailServer
    assert facts["domain"] == "First"


def test_small_config_parsers() -> None:
    config = parse_shell_config(
        '# c\nexport DOMINO_DATA_PATH="/srv/data" # comment\nLOTUS=/opt/x\n'
    )
    assert config == {"DOMINO_DATA_PATH": "/srv/data", "LOTUS": "/opt/x"}
    assert parse_install_dat((FIXTURE / "opt/hcl/domino/.install.dat").read_text()) == "12000200"
    assert parse_install_dat("nothing") is None


def test_release_evidence_prefers_the_console_banner_then_nsd(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path, dirs_exist_ok=True)
    host = Host(sysroot=tmp_path)
    console = f"{DIAG}/console.log"
    nsd = (f"{DIAG}/{NSD_NEW}", f"{DIAG}/{NSD_OLD}")
    evidence = release_evidence(host, console_logs=(console,), nsd_files=nsd)
    assert [e["source"] for e in evidence] == [console, *nsd]
    release = release_from_evidence(evidence)
    assert (release["version"], release["fix_pack"], release["product"]) == (
        "12.0.2",
        "FP2",
        "HCL Domino",
    )
    assert release["version_source"] == f"{console} (console start-up banner)"
    # No banner in the console log (it wrapped): the newest NSD header answers.
    (tmp_path / console.lstrip("/")).write_text("03/21/2023 10:00:00 AM  Router: started\n")
    release = release_from_evidence(release_evidence(host, console_logs=(console,), nsd_files=nsd))
    assert release["fix_pack"] == "FP2"
    assert release["version_source"] == f"{nsd[0]} (NSD header)"
    assert release_from_evidence([]) == {}


# --- redaction ------------------------------------------------------------------------


def test_plugin_rules_mask_notes_ini_secrets_the_baseline_misses() -> None:
    text = (
        b"LDAP_BIND_PW=PLANTED-A\nSMTP_RELAY_PASS=PLANTED-B\nPKCS11_PIN=PLANTED-C\n"
        b"ServerKeyFilePassword=PLANTED D with spaces\n"
        b"[0D14:0027-1334] 03/21/2023 10:20:00 AM  > set config LDAP_BIND_PW=PLANTED E f\n"
        b'PASSWORD="quoted value"\nPasswordExpiryDays=90\nSSL_BYPASS=1\nServerTasks=Router\n'
    )
    baseline, _ = redact_bytes(text, BASELINE_RULES)
    for missed in (b"PLANTED-C", b" E f"):
        assert missed in baseline  # the gap the plugin's rules close
    redacted, hits = redact_bytes(text, BASELINE_RULES + REDACTION_RULES)
    assert b"PLANTED" not in redacted and b"with spaces" not in redacted
    assert b"LDAP_BIND_PW=********\n" in redacted
    assert b"set config LDAP_BIND_PW=********\n" in redacted
    # Already masked values are not masked twice; settings stay readable.
    assert b'PASSWORD="********"\n' in redacted
    assert b"PasswordExpiryDays=90\nSSL_BYPASS=1\nServerTasks=Router\n" in redacted
    assert hits == 7


# --- discovery, detection, state --------------------------------------------------------


def test_detection_reasons(tmp_path: Path) -> None:
    plugin = Domino()
    answer = plugin.applies(Host(sysroot=tmp_path, env={}))
    assert not answer.applies
    assert "/opt/hcl/domino/notes/latest/linux/server" in answer.reason
    assert "$Notes_ExecDirectory" in answer.reason
    config = tmp_path / "etc/sysconfig/rc_domino_config"
    config.parent.mkdir(parents=True)
    config.write_text("DOMINO_DATA_PATH=/srv/domino/data\n")
    answer = plugin.applies(Host(sysroot=tmp_path, env={}))
    assert answer.applies and "rc_domino_config" in answer.reason
    env_answer = plugin.applies(Host(sysroot=tmp_path / "none", env={"NOTESDATA": "/d"}))
    assert env_answer.applies and "$NOTESDATA" in env_answer.reason


def test_discovery_follows_start_script_config_and_logfile_dir(tmp_path: Path) -> None:
    data = tmp_path / "srv/domino/data"
    data.mkdir(parents=True)
    (data / "notes.ini").write_text("ServerName=CN=app1/O=Acme\nLogfile_Dir=/var/log/domino\n")
    (data / "admin.id").write_text("secret")
    config = tmp_path / "etc/sysconfig/rc_domino_config_app1"
    config.parent.mkdir(parents=True)
    config.write_text('DOMINO_DATA_PATH="/srv/domino/data/"\nLOTUS=/opt/custom/domino\n')
    program = tmp_path / "opt/custom/domino/notes/latest/linux"
    program.mkdir(parents=True)
    (program / "server").write_text("fake")
    layout = discover(context(tmp_path))
    (server,) = layout.servers
    assert server.path == "/srv/domino/data"
    assert server.found_by == "/etc/sysconfig/rc_domino_config_app1"
    assert server.diag_dir == "/var/log/domino"
    assert server.id_files == ("admin.id",)
    assert (layout.install_path, layout.program_directory) == (
        "/opt/custom/domino",
        "/opt/custom/domino/notes/latest/linux",
    )
    specs = Domino().specs(context(tmp_path))
    patterns = [getattr(s, "pattern", getattr(s, "path", "")) for s in specs]
    assert "/var/log/domino/console.log" in patterns
    # No file or glob asked for can match an ID file in its folder.
    for pattern in patterns:
        assert not fnmatch(posixpath.join(posixpath.dirname(pattern), "server.id"), pattern)


def test_server_state_from_processes() -> None:
    assert server_state(DATA_DIR, {"live": False}) == "unknown"
    assert server_state(DATA_DIR, {"live": True, "servers": []}) == "stopped"
    running = {"live": True, "servers": [{"cwd": "/local/notesdata/"}]}
    assert server_state(DATA_DIR, running) == "running"
    assert server_state("/local/other", running) == "stopped"
    assert server_state(DATA_DIR, {"live": True, "servers": [{"cwd": None}]}) == "unknown"
    assert is_domino_server("server", "/opt/hcl/domino/notes/12000200/linux/server")
    assert not is_domino_server("server", "/usr/bin/server")
    assert not is_domino_server("http", "/opt/hcl/domino/notes/latest/linux/http")


# --- end to end ---------------------------------------------------------------------------


def test_fake_installation_facts(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, tmp_path: Path
) -> None:
    host = domino_host(product_host)
    diag = host.sysroot / DIAG.lstrip("/")
    # Two more, older NSD reports: only the newest three are collected.
    for age, name in ((9, "nsd_all_Linux_domino01_2023_03_10@08_00_00.log"), (8, "nsd_x_8.log")):
        (diag / name).write_text("Domino Release 12.0.1\n")
        stamp = datetime.now(UTC).timestamp() - age * 86400
        os.utime(diag / name, (stamp, stamp))
    manifest = collected(host, run_pa, tmp_path)
    facts = manifest["facts"]["domino"]
    Draft202012Validator.check_schema(SCHEMA)
    assert list(Draft202012Validator(SCHEMA).iter_errors(facts)) == []
    assert schema_errors("manifest", manifest) == []
    expected = {
        "product": "HCL Domino",
        "version": "12.0.2",
        "fix_pack": "FP2",
        "install_path": "/opt/hcl/domino",
        "program_directory": "/opt/hcl/domino/notes/latest/linux",
        "install_rev": "12000200",
        "server_name": "CN=domino01/O=Acme",
        "data_directory": DATA_DIR,
        "notes_ini": f"{DATA_DIR}/notes.ini",
        "console_log": f"{DIAG}/console.log",
        "nsd_files": [NSD_NEW, NSD_OLD, "nsd_x_8.log"],
        "version_source": f"{DIAG}/console.log (console start-up banner)",
    }
    assert {k: facts[k] for k in expected} == expected
    assert facts["server_tasks"][-1] == "SMTP" and "HTTP" in facts["server_tasks"]
    (server,) = facts["servers"]
    assert (server["domain"], server["server_id_file"], server["kit_type"]) == (
        "Acme",
        "server.id",
        "server",
    )
    assert server["state"] == "unknown"  # a --sysroot image has no processes
    assert server["found_by"] == "/etc/sysconfig/rc_domino_config"
    assert item(manifest, f"{DIAG}/{NSD_NEW}")["outcome"] == "ok"
    sources = {i["source"] for i in manifest["items"]}
    assert f"{DIAG}/nsd_all_Linux_domino01_2023_03_10@08_00_00.log" not in sources
    notes_ini = bundle_text(tmp_path, manifest, f"{DATA_DIR}/notes.ini")
    assert "ServerName=CN=domino01/O=Acme" in notes_ini and "PKCS11_PIN=********" in notes_ini
    assert item(manifest, f"{DATA_DIR}/notes.ini")["redactions"] == 6  # one per planted secret


def test_secrets_and_secret_files_never_reach_the_bundle(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, tmp_path: Path
) -> None:
    host = domino_host(product_host)
    data = host.sysroot / DATA_DIR.lstrip("/")
    (data / "user.id").write_bytes(b"PLANTED-DOMINO-ID-USER-15\x00\x01")
    now = datetime.now(UTC)
    (data / "IBM_TECHNICAL_SUPPORT/console.log").write_text(
        console_record(now - timedelta(hours=2), "Server started")
        + console_record(now - timedelta(hours=1), "> set config LDAP_BIND_PW=PLANTED DOMINO 08")
    )
    manifest = collected(host, run_pa, tmp_path)
    everything = b"".join(p.read_bytes() for p in (tmp_path / "x").rglob("*") if p.is_file())
    for secret in PLANTED:
        raw = secret.encode()
        for form in (raw, base64.b64encode(raw)):
            assert form not in everything, f"{secret} leaked as {form!r}"
    console = bundle_text(tmp_path, manifest, f"{DIAG}/console.log")
    assert "> set config LDAP_BIND_PW=********" in console
    nsd = bundle_text(tmp_path, manifest, f"{DIAG}/{NSD_NEW}")
    assert "DOMINO_ID_PASSWORD=********" in nsd and "LDAP_BIND_PW=********" in nsd
    # Keyrings and stashes: named, refused unread.
    for name in ("keyfile.kyr", "keyfile.sth"):
        entry = item(manifest, f"{DATA_DIR}/{name}")
        assert entry["outcome"] == "skipped" and entry["secret"] is True and entry["path"] is None
    # ID files sit beside notes.ini, but no spec ever names them: not even read.
    assert not [i for i in manifest["items"] if i["source"].endswith(".id")]
    assert not [p for p in (tmp_path / "x").rglob("*.id")]
    layout = json.loads(bundle_text(tmp_path, manifest, "fact:layout"))
    assert layout["servers"][0]["id_files_not_collected"] == ["cert.id", "server.id", "user.id"]


def test_since_1d_keeps_exactly_the_records_in_the_window(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, tmp_path: Path
) -> None:
    host = domino_host(product_host)
    data = host.sysroot / DATA_DIR.lstrip("/")
    now = datetime.now(UTC)
    prefix = "[028325:000012-00007F1A2B3C6900] "
    old = console_record(now - timedelta(days=3), "Router: old", prefix=prefix) + (
        console_record(
            now - timedelta(hours=30), "HTTP JVM: java.lang.Error", "\tat old.Frame(x.java:1)"
        )
    )
    recent = console_record(
        now - timedelta(hours=20),
        "HTTP JVM: java.lang.NullPointerException",
        "\tat com.acme.Agent.run(Agent.java:42)",
        "\tat lotus.domino.AgentBase.runNotes(Unknown)",
        prefix=prefix,
    ) + console_record(now - timedelta(hours=1), "Router: J\xfcrgen", "continued text")
    console = data / "IBM_TECHNICAL_SUPPORT/console.log"
    console.write_bytes((old + recent).encode("latin-1"))  # not UTF-8: bytes kept as they are
    plus_one = timezone(timedelta(hours=1))
    access = [now.astimezone(plus_one) - timedelta(hours=h) for h in (72, 30, 20, 1)]
    lines = [access_record(m, f"/mail/u{i}.nsf", 200) for i, m in enumerate(access)]
    (data / "access.log").write_text("".join(lines))
    manifest = collected(host, run_pa, tmp_path, "--since", "1d")
    console_item = item(manifest, f"{DIAG}/console.log")
    kept = (tmp_path / "x" / console_item["path"]).read_bytes()
    assert kept == recent.encode("latin-1")
    assert console_item["window_start"] == len(old.encode("latin-1"))
    assert bundle_text(tmp_path, manifest, f"{DATA_DIR}/access.log") == "".join(lines[2:])
    # This console log has no start-up banner: the newest NSD header names the release.
    facts = manifest["facts"]["domino"]
    assert (facts["version"], facts["fix_pack"]) == ("12.0.2", "FP2")
    assert facts["version_source"] == f"{DIAG}/{NSD_NEW} (NSD header)"


def test_default_window_drops_records_older_than_14_days(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, tmp_path: Path
) -> None:
    host = domino_host(product_host)
    now = datetime.now(UTC)
    banner = "[028325:000002-00007F1A2B3C4700] HCL Domino (r) Server (64 Bit), Release 12.0.2FP2\n"
    old = console_record(now - timedelta(days=20), "Server started") + console_record(
        now - timedelta(days=15), "Router: old", "continued"
    )
    recent = console_record(now - timedelta(days=13), "Router: kept", "continued") + (
        console_record(now - timedelta(hours=2), "HTTP Server: Started")
    )
    (host.sysroot / DIAG.lstrip("/") / "console.log").write_text(banner + old + recent)
    manifest = collected(host, run_pa, tmp_path)
    assert bundle_text(tmp_path, manifest, f"{DIAG}/console.log") == recent
    facts = manifest["facts"]["domino"]
    # The banner was cut by the window, yet the release comes from the file's head.
    assert (facts["version"], facts["fix_pack"]) == ("12.0.2", "FP2")
    assert facts["version_source"] == f"{DIAG}/console.log (console start-up banner)"


def test_instance_selects_one_partition(
    product_host: Callable[[str], FakeHost], run_pa: RunPa, tmp_path: Path
) -> None:
    host = domino_host(product_host)
    second = host.sysroot / "local/notesdata2"
    (second / "IBM_TECHNICAL_SUPPORT").mkdir(parents=True)
    (second / "notes.ini").write_text(
        "KitType=2\nServerName=CN=domino02/O=Acme\nDomain=Acme\nServerTasks=Router,HTTP\n"
        "DateOrder=DMY\n"
    )
    (second / "IBM_TECHNICAL_SUPPORT/console.log").write_text(
        "HCL Domino (r) Server (64 Bit), Release 12.0.2FP1, March 14, 2023\n"
    )
    layout = discover(context(host.sysroot))
    assert [s.server_name for s in layout.servers] == ["CN=domino01/O=Acme", "CN=domino02/O=Acme"]
    assert [s.key for s in layout.servers] == ["local_notesdata", "local_notesdata2"]
    manifest = collected(host, run_pa, tmp_path, "--instance", "domino02")
    facts = manifest["facts"]["domino"]
    assert [s["server_name"] for s in facts["servers"]] == ["CN=domino02/O=Acme"]
    assert facts["data_directory"] == "/local/notesdata2" and facts["fix_pack"] == "FP1"
    assert facts["servers"][0]["date_order"] == "DMY"
    assert facts["selection"] == "domino02" and facts["not_selected"] == ["CN=domino01/O=Acme"]
    sources = [i["source"] for i in manifest["items"] if i["plugin"] == "domino"]
    assert "/local/notesdata2/notes.ini" in sources
    assert not [s for s in sources if s.startswith(f"{DATA_DIR}/")]
    assert list(Draft202012Validator(SCHEMA).iter_errors(facts)) == []
    # A data directory path selects too.
    assert [s.path for s in discover(context(host.sysroot, instance=DATA_DIR)).servers] == [
        DATA_DIR
    ]


def test_plugins_on_this_machine_say_why_domino_does_not_apply(
    run_pa: RunPa, tmp_path: Path
) -> None:
    if Domino().applies(Host.from_process()).applies:
        pytest.skip("this machine has a Domino installation")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = run_pa("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    domino = rows["domino"]
    assert domino["applies"] is False and domino["kind"] == "product"
    assert "/opt/hcl/domino/notes/latest/linux/server" in domino["reason"]
    assert "/local/notesdata/notes.ini" in domino["reason"]
    assert "$Notes_ExecDirectory" in domino["reason"]
