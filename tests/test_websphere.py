"""WebSphere traditional: parsers on the fake installation and on real samples,
SystemOut time windows, redaction of WebSphere secrets, and the installed
pa-collect end to end on a fake WAS ND 9.0.5.14 host."""

from __future__ import annotations

import base64
import doctest
import io
import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from collector.plugins import websphere, websphere_parse
from collector.plugins.websphere import (
    REDACTION_RULES,
    Server,
    WebSphere,
    install_facts,
    server_state,
)
from collector.plugins.websphere_parse import (
    STARTED,
    SYSTEM_OUT,
    parse_last_event,
    parse_list_profiles,
    parse_log,
    parse_product_file,
    parse_profile_registry,
    parse_version_info,
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
from collector.logwindow import aware, window_start
from collector.plugin import Context
from collector.redact import BASELINE_RULES, redact_bytes
from collector.spec import CommandSpec

SYSROOT = DATA / "websphere" / "sysroot"
WAS = "/opt/IBM/WebSphere/AppServer"
APP = f"{WAS}/profiles/AppSrv01"
DMGR = f"{WAS}/profiles/Dmgr01"
SCHEMA = json.loads((Path(__file__).parents[1] / "schemas/facts_websphere.schema.json").read_text())
PLANTED = [
    "PLANTED-WAS-LTPA-01",
    "PLANTED-WAS-BIND-02",
    "PLANTED-WAS-KEYSTORE-03",
    "PLANTED-WAS-JVM-04",
    "PLANTED-WAS-AES-05",
    "PLANTED-WAS-DSPROP-06",
    "PLANTED-WAS-SOAP-07",
    "PLANTED-WAS-SSLKS-08",
    "PLANTED-WAS-SAS-09",
    "PLANTED-WAS-CMD-10",
    "PLANTED-WAS-URL-11",
    "PLANTED-WAS-LOG-12",
    "PLANTED-WAS-FFDC-13",
    "PLANTED-WAS-P12-14",
    "PLANTED-WAS-P12-15",
    "PLANTED-WAS-NATIVE-16",
    "PLANTED-WAS-SYSPROP-17",
    "PLANTED-WAS-DSXOR-18",
    "PLANTED-WAS-PLAIN-19",
    "PLANTED-WAS-AUTHDATA-20",
    "PLANTED-WAS-DMGR-21",
    "PLANTED-WAS-SSLTS-22",
    "PLANTED-WAS-REVERSED-23",
    "PLANTED-WAS-P12-24",
    "PLANTED-WAS-P12-25",
]
KEYSTORES = {
    f"{DMGR}/config/cells/cell01/key.p12",
    f"{DMGR}/config/cells/cell01/trust.p12",
    f"{APP}/config/cells/cell01/key.p12",
    f"{APP}/config/cells/cell01/trust.p12",
    f"{APP}/config/cells/cell01/nodes/node01/key.p12",
    f"{APP}/config/cells/cell01/nodes/node01/trust.p12",
}
ProductHost = Callable[[str], FakeHost]


def fixture_bytes(host_path: str) -> bytes:
    return (SYSROOT / host_path.lstrip("/")).read_bytes()


def fixture_text(host_path: str) -> str:
    return fixture_bytes(host_path).decode()


# --- SystemOut format: real samples ---------------------------------------------------


def timed(data: bytes) -> list[Any]:
    return [record for record in parse_log(data) if record.timestamp is not None]


def test_systemout_sample_records_types_and_message_ids() -> None:
    data = (samples_dir("was") / "SystemOut.log").read_bytes()
    records = timed(data)
    assert len(records) == 723
    assert Counter(r.level for r in records) == {
        "I": 475, "A": 162, "O": 78, "W": 4, "Z": 2, "E": 2,
    }  # fmt: skip
    assert records[0].timestamp == datetime(2020, 5, 10, 3, 9, 1, 349000, tzinfo=UTC)
    assert records[-1].timestamp == datetime(2020, 5, 10, 3, 18, 27, 69000, tzinfo=UTC)
    assert (records[-1].level, records[-1].message_id) == ("A", "SECJ0129E")
    assert [r.message_id for r in records].count("WSVR0001I") == 2
    assert sorted(r.message_id for r in records if r.level == "E") == ["SESN0008E", "SRVE0255E"]
    warnings = Counter(r.message_id for r in records if r.level == "W")
    assert warnings == {"CWPKI0041W": 2, "SECJ8032W": 2}
    # The message id follows the logger's class and method names when present.
    ffdc = next(r for r in records if r.message_id == "FFDC1007I")
    assert "ProviderTracker AddingService" in ffdc.text
    # Ids found are the sample's id tokens (SOURCES.md counts 166 of the letters-only
    # form; I18N0010I has a digit in its prefix, as J2CA ids do); none from O/Z text.
    tokens = set(re.findall(rb"([A-Z]{4,5}\d{4}[IAWEO]):", data))
    found = {r.message_id.encode() for r in records if r.message_id}
    assert len(tokens) == 166 and found - tokens == {b"I18N0010I"}
    assert all(r.message_id is None for r in records if r.level == "Z")
    # The second start's environment banner is continuation text of a record;
    # the first one precedes every record.
    banners = [r for r in parse_log(data) if "Start Display Current Environment" in r.text]
    assert len(banners) == 2 and banners[0].timestamp is None
    assert "process id 192" in banners[0].text and "process id 697" in banners[1].text
    assert "WebSphere Platform 9.0.5.2 [BASE 9.0.5.2 f5021945.04]" in banners[0].text


def test_systemerr_sample_is_all_r_records_with_stack_frames() -> None:
    data = (samples_dir("was") / "SystemErr.log").read_bytes()
    records = timed(data)
    assert len(records) == 104
    assert {r.level for r in records} == {"R"}
    assert sum(r.text.count("\n\tat ") + r.text.startswith("\tat ") for r in records) == 47
    assert min(r.timestamp for r in records) == datetime(2020, 5, 10, 3, 14, 34, 612000, tzinfo=UTC)
    assert max(r.timestamp for r in records) == datetime(2020, 5, 10, 3, 14, 34, 740000, tzinfo=UTC)
    banner = next(parse_log(data))
    assert (
        banner.timestamp is None and "Log file started at: [5/10/20 3:09:01:363 UTC]" in banner.text
    )
    text = "\n".join(r.text for r in records)
    assert "OpenFailureException: IWAE0037E Could not open /apps/CertLoginSample.war" in text
    assert "java.io.FileNotFoundException: IWAE0036E" in text
    assert "javax.servlet.ServletException" in text


def test_startserver_sample_records_and_last_start() -> None:
    data = (samples_dir("was") / "startServer.log").read_bytes()
    records = timed(data)
    assert len(records) == 16
    assert Counter(r.level for r in records) == {"A": 10, "I": 4, "W": 2}
    assert [r.message_id for r in records].count("WSVR0072W") == 2
    starts = [r for r in records if r.message_id == "ADMU3000I"]
    assert [re.findall(r"process id is (\d+)", r.text) for r in starts] == [["192"], ["697"]]
    assert parse_last_event(data, STARTED) == {
        "time": "2020-05-10T03:10:34.314000+00:00",
        "server": "server1",
        "pid": 697,
    }


def test_version_info_sample_products() -> None:
    report = parse_version_info((samples_dir("was") / "versionInfo_8.5.5.11_ND.txt").read_text())
    assert report["report_time"] == "March 15, 2018 2:30:20 PM EDT"
    assert report["reporter_version"] == "1.15.1.48"
    assert report["product_list"] == {"ND": "installed", "IBMJAVA71": "installed"}
    assert report["product_directory"] == WAS
    nd, sdk = report["products"]
    assert nd["name"] == "IBM WebSphere Application Server Network Deployment"
    assert (nd["version"], nd["id"], nd["build_level"]) == ("8.5.5.11", "ND", "cf111649.01")
    assert nd["package"] == "com.ibm.websphere.ND.v85_8.5.5011.20161206_1434"
    assert nd["architecture"] == "x86-64 (64 bit)"
    assert len(nd["installed_features"]) == 5
    assert (sdk["name"], sdk["version"]) == (
        "IBM WebSphere SDK Java Technology Edition (Optional)",
        "7.1.3.30",
    )
    assert (sdk["id"], sdk["build_level"]) == ("IBMJAVA71", "cf091608.04")
    text = (samples_dir("was") / "versionInfo_8.5.5.11_ND.txt").read_text()
    facts = install_facts({"path": WAS}, text, None)
    assert (facts["version"], facts["fix_pack"], facts["edition"]) == ("8.5.5.11", "11", "ND")
    assert facts["build_level"] == "cf111649.01" and facts["version_source"] == "versionInfo.sh"


# --- parsers on the fake installation ---------------------------------------------------


def fake_version_info() -> str:
    script = SYSROOT / WAS.lstrip("/") / "bin/versionInfo.sh"
    command = [str(script), "-maintenancePackages"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def value_columns(text: str) -> dict[str, int]:
    """Where the value starts on each `Key   value` line of a versionInfo report
    (the first line of each key: Build Date recurs in maintenance packages)."""
    columns: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"^(\S.*?)\s{2,}(?=\S)", line)
        if match:
            columns.setdefault(match.group(1), match.end())
    return columns


def test_fake_version_info_has_the_real_layout() -> None:
    sample = value_columns((samples_dir("was") / "versionInfo_8.5.5.11_ND.txt").read_text())
    fake = value_columns(fake_version_info())
    shared = sample.keys() & fake.keys()
    assert {"Name", "Version", "ID", "Build Level", "Package", "Product Directory"} <= shared
    assert {key: fake[key] for key in shared} == {key: sample[key] for key in shared}


def test_fake_logs_have_the_real_header_layout() -> None:
    header = re.compile(rb"^\[[^\]]+\] [0-9a-f]{8} .{13} [A-Z] ")
    for data in (
        (samples_dir("was") / "SystemOut.log").read_bytes(),
        fixture_bytes(f"{APP}/logs/server1/SystemOut.log"),
        fixture_bytes(f"{APP}/logs/server1/startServer.log"),
        fixture_bytes(f"{DMGR}/logs/dmgr/stopServer.log"),
    ):
        lines = [line for line in data.splitlines() if line.startswith(b"[")]
        assert lines and all(header.match(line) for line in lines)


def test_fake_version_info_output_with_maintenance_packages() -> None:
    output = fake_version_info()
    facts = install_facts({"path": WAS}, output, "[Dmgr01, AppSrv01]\n")
    assert facts["product"] == "IBM WebSphere Application Server Network Deployment"
    assert (facts["version"], facts["fix_pack"], facts["edition"]) == ("9.0.5.14", "14", "ND")
    assert facts["build_level"] == "cf142247.02"
    assert [p["maintenance_package_id"] for p in facts["maintenance_packages"]] == [
        "9.0.5.14-WS-WAS-IFPH52117",
        "9.0.5.14-WS-WASND-IFPH53310",
    ]
    assert facts["maintenance_packages"][1]["build_date"] == "4/3/23"
    assert facts["profiles_listed"] == ["Dmgr01", "AppSrv01"]


def test_product_file_is_the_fallback_when_version_info_did_not_run() -> None:
    product = parse_product_file(fixture_text(f"{WAS}/properties/version/WAS.product"))
    assert product == {
        "name": "IBM WebSphere Application Server - ND",
        "id": "ND",
        "version": "9.0.5.14",
        "build_date": "11/28/22",
        "build_level": "cf142247.02",
    }
    facts = install_facts({"path": WAS, "product_file": product}, None, None)
    assert facts["version_source"] == "WAS.product"
    assert (facts["version"], facts["fix_pack"], facts["build_level"]) == (
        "9.0.5.14",
        "14",
        "cf142247.02",
    )
    assert install_facts({"path": WAS}, "", None)["version_source"] is None


def test_profile_registry_and_list_profiles() -> None:
    profiles = parse_profile_registry(fixture_text(f"{WAS}/properties/profileRegistry.xml"))
    assert [(p["name"], p["template"], p["is_default"]) for p in profiles] == [
        ("Dmgr01", "management", False),
        ("AppSrv01", "default", True),
    ]
    assert profiles[1]["path"] == APP
    reserved = (
        '<profiles><profile isAReservationTicket="true" name="AppSrv02" path="/p/AppSrv02"/>'
        '<profile name="A&amp;B" path="/p/A&amp;B/" template="/t/managed/"/></profiles>'
    )
    assert parse_profile_registry(reserved) == [
        {"name": "A&B", "path": "/p/A&B", "template": "managed", "is_default": False}
    ]
    assert parse_list_profiles("Picked up X\n[]\n") == []
    assert parse_list_profiles("INSTCONFFAILED: no\n") is None


def test_fixture_systemout_records_zone_and_multiline_errors() -> None:
    records = timed(fixture_bytes(f"{APP}/logs/server1/SystemOut.log"))
    assert [r.level for r in records] == ["I", "I", "W", "A", "E", "E", "O", "W", "F", "A"]
    # CEST is UTC+2, whatever the zone of the machine reading the log.
    assert records[0].timestamp == datetime(2024, 5, 10, 6, 15, 2, 101000, tzinfo=UTC)
    failed = records[5]
    assert failed.message_id == "DSRA8040I"
    assert failed.text.endswith("\t... 12 more")
    assert "Caused by: java.net.ConnectException" in failed.text
    assert (records[8].level, records[8].message_id) == ("F", "WSVR0024F")
    assert records[6].message_id is None  # System.out text has no message id


def test_doctests_of_the_parsers() -> None:
    failures, tried = doctest.testmod(websphere_parse)
    assert tried >= 4 and failures == 0


# --- dates, zones, encodings ------------------------------------------------------------


def stamp_of(header: bytes) -> datetime | None:
    match = SYSTEM_OUT.record_start.match(header + b" 00000001 X             I   X0000I: x\n")
    assert match is not None, header
    return SYSTEM_OUT.timestamp(match, None, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # M/d/yy, en_US
        (b"[11/3/17 13:05:22:917 CET]", datetime(2017, 11, 3, 12, 5, 22, 917000, tzinfo=UTC)),
        (b"[1/2/24 0:00:00:001 EDT]", datetime(2024, 1, 2, 4, 0, 0, 1000, tzinfo=UTC)),
        (b"[1/2/24 9:00:00:000 PST]", datetime(2024, 1, 2, 17, 0, tzinfo=UTC)),
        (b"[1/2/24 9:00:00:000 GMT]", datetime(2024, 1, 2, 9, 0, tzinfo=UTC)),
        # d/M/yy (en_GB): the first field is above 12 (2025-12-23 would be in the future)
        (b"[25/12/23 8:00:00:000 GMT]", datetime(2023, 12, 25, 8, 0, tzinfo=UTC)),
        # d.M.yy (de) and yy/MM/dd (ja)
        (b"[3.11.17 13:05:22:917 CEST]", datetime(2017, 11, 3, 11, 5, 22, 917000, tzinfo=UTC)),
        (b"[17/11/03 13:05:22:917 JST]", datetime(2017, 11, 3, 4, 5, 22, 917000, tzinfo=UTC)),
        (b"[24/05/13 9:00:00:000 JST]", datetime(2024, 5, 13, 0, 0, tzinfo=UTC)),
        (b"[24-5-13 9:00:00:000 GMT+08:00]", datetime(2024, 5, 13, 1, 0, tzinfo=UTC)),  # zh
        (b"[24. 5. 13 9:00:00:000 KST]", datetime(2024, 5, 13, 0, 0, tzinfo=UTC)),  # ko
        (b"[13/05/24 9:00:00:000 GMT]", datetime(2024, 5, 13, 9, 0, tzinfo=UTC)),  # en_GB
        (b"[10-5-24 9:00:00:000 CEST]", datetime(2024, 5, 10, 7, 0, tzinfo=UTC)),  # nl
        (b"[2017/11/03 13:05:22:917 UTC]", datetime(2017, 11, 3, 13, 5, 22, 917000, tzinfo=UTC)),
        # numeric zones, as Java writes them when it has no abbreviation
        (b"[1/2/24 9:00:00:000 GMT+05:30]", datetime(2024, 1, 2, 3, 30, tzinfo=UTC)),
        (b"[1/2/24 9:00:00:000 GMT-03:00]", datetime(2024, 1, 2, 12, 0, tzinfo=UTC)),
    ],
)
def test_header_dates_and_zones(
    header: bytes, expected: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websphere_parse, "_now", lambda: datetime(2024, 6, 1))
    assert stamp_of(header) == expected


def test_ambiguous_and_unknown_zones_are_host_local_time() -> None:
    for zone in (b"IST", b"BST", b"XYZT"):
        moment = stamp_of(b"[1/2/24 9:00:00:000 " + zone + b"]")
        assert moment == aware(datetime(2024, 1, 2, 9, 0))
        assert moment is not None and moment.tzinfo is not None
    # A slashed day of 12 or less is read as M/d/yy: the documented ambiguity.
    assert stamp_of(b"[10/5/20 9:00:00:000 UTC]") == datetime(2020, 10, 5, 9, tzinfo=UTC)
    assert stamp_of(b"[13/13/20 9:00:00:000 UTC]") is None


def test_day_or_year_first_is_the_latest_reading_not_in_the_future(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(websphere_parse, "_now", lambda: datetime(2026, 6, 1))
    # 28 May 2026 (en_GB), not 26 May 2028: that is in the future.
    assert stamp_of(b"[28/05/26 9:00:00:000 UTC]") == datetime(2026, 5, 28, 9, tzinfo=UTC)
    # 2026-05-20 (ja), not 26 May 2020.
    assert stamp_of(b"[26/05/20 9:00:00:000 UTC]") == datetime(2026, 5, 20, 9, tzinfo=UTC)
    # Both readings in the future (a clock set wrong): the earlier one.
    assert stamp_of(b"[29/07/28 9:00:00:000 UTC]") == datetime(2028, 7, 29, 9, tzinfo=UTC)


def test_the_hosts_own_zone_name_means_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # In China, Java writes CST for UTC+8, not for US Central time.
    china = timezone(timedelta(hours=8), "CST")
    monkeypatch.setattr(
        websphere_parse, "aware", lambda m: m if m.tzinfo else m.replace(tzinfo=china)
    )
    assert stamp_of(b"[1/2/24 9:00:00:000 CST]") == datetime(2024, 1, 2, 1, 0, tzinfo=UTC)
    assert stamp_of(b"[1/2/24 9:00:00:000 CDT]") == datetime(2024, 1, 2, 14, 0, tzinfo=UTC)


def test_non_utf8_log_parses_without_losing_bytes() -> None:
    raw = (
        b"[1/2/24 9:00:00:000 UTC] 00000042 SystemOut     O Kunde M\xfcller: Stra\xdfe gesperrt\n"
        b"[1/2/24 9:00:01:000 UTC] 00000042 SystemErr     R caf\xe9 \xff\xfe\n"
    )
    records = timed(raw)
    assert [r.level for r in records] == ["O", "R"]
    assert "Müller" in records[0].text and "Straße" in records[0].text
    assert "\n".join(r.text for r in records).encode("latin-1") + b"\n" == raw


def test_advanced_format_header_gives_type_and_message_id() -> None:
    raw = (
        b"[1/2/24 9:00:00:000 UTC] 00000001 I UOW= source=com.ibm.ws.management.AdminInitializer"
        b" org=IBM prod=WebSphere component=Application Server thread=[main]\n"
        b"          ADMN0015I: The administration service is initialized.\n"
    )
    (record,) = timed(raw)
    assert (record.level, record.message_id) == ("I", "ADMN0015I")


# --- redaction --------------------------------------------------------------------------


def test_core_masks_password_attributes_and_encoded_values() -> None:
    """What the brief asks to verify: the core alone handles these."""
    text = (
        b'<keyStores name="x" password="{xor}Lz4sLCgwLTs=" type="PKCS12"/>\n'
        b'<userRegistries bindDN="cn=a" bindPassword="{xor}DxMeEQsaG3IIHgxyHRYRG3JvbQ=="/>\n'
        b'<ssl keyStorePassword="plain-secret" trustStorePassword="{aes}QUJDRA=="/>\n'
        b"com.ibm.SOAP.loginPassword=PLANTED-X\n"
        b"com.ibm.ssl.keyStorePassword={xor}DxMeEQsaG3IIHgxyDAwTFAxyb2c\\=\n"
        b'<properties name="com.ibm.ssl.keyStorePassword" value="plain2" required="false"/>\n'
    )
    out, _ = redact_bytes(text, BASELINE_RULES)
    for secret in (b"Lz4sLCgwLTs", b"DxMeEQ", b"plain-secret", b"QUJDRA", b"PLANTED-X", b"plain2"):
        assert secret not in out
    assert b'bindDN="cn=a"' in out and b'type="PKCS12"' in out


def test_plugin_rules_mask_custom_properties_the_core_misses() -> None:
    resources = fixture_bytes(f"{APP}/config/cells/cell01/resources.xml")
    core_only, _ = redact_bytes(resources, BASELINE_RULES)
    assert b"PLANTED-WAS-DSPROP-06" in core_only and b"PLANTED-WAS-REVERSED-23" in core_only
    both, hits = redact_bytes(resources, BASELINE_RULES + REDACTION_RULES)
    assert b"PLANTED" not in both and b"DxMeEQ" not in both
    assert hits == 3  # each secret counted once, the {xor} one by the core
    assert b'name="databaseName" type="java.lang.String" value="SAMPLE"' in both
    assert b'name="portNumber" type="java.lang.Integer" value="50000"' in both
    # Settings about passwords stay; a value in another tag is not touched.
    settings = b'<p name="passwordRequired" type="b" value="true"/><q value="keep"/>\n'
    assert redact_bytes(settings, REDACTION_RULES) == (settings, 0)


# --- detection, layout, state -------------------------------------------------------------


def host_on(sysroot: Path, **env: str) -> Host:
    return Host(sysroot=sysroot, env={"PATH": str(sysroot / "nowhere"), **env})


def test_detection_reasons(tmp_path: Path) -> None:
    plugin = WebSphere()
    empty = plugin.applies(host_on(tmp_path))
    assert not empty.applies
    assert f"{WAS}/bin/versionInfo.sh" in empty.reason and "$WAS_HOME" in empty.reason
    bogus = plugin.applies(host_on(tmp_path, WAS_HOME="/opt/was"))
    assert not bogus.applies and "$WAS_HOME=/opt/was holds no installation" in bogus.reason
    registry = tmp_path / "srv/was9/properties/profileRegistry.xml"
    registry.parent.mkdir(parents=True)
    registry.write_text("<profiles/>")
    found = plugin.applies(host_on(tmp_path, WAS_HOME="/srv/was9/"))
    assert found.applies and found.reason == "WebSphere installation at /srv/was9"


def test_detection_by_versioninfo_on_path(tmp_path: Path) -> None:
    script = tmp_path / "sysroot/usr/IBM/WebSphere/AppServer/bin/versionInfo.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    host = Host(sysroot=tmp_path / "sysroot", env={"PATH": str(script.parent)})
    assert websphere.find_installs(host) == ["/usr/IBM/WebSphere/AppServer"]


def test_specs_follow_the_registry_and_the_local_node() -> None:
    ctx = Context(host=host_on(SYSROOT))
    layout = websphere.discover(ctx)
    assert [p.name for p in layout.profiles] == ["Dmgr01", "AppSrv01"]
    dmgr, app = layout.profiles
    # The deployment manager's repository holds node01's servers too; only dmgr logs here.
    assert [(s.node, s.name) for s in dmgr.servers] == [("cellManager01", "dmgr")]
    assert [(s.node, s.name) for s in app.servers] == [
        ("node01", "nodeagent"),
        ("node01", "server1"),
    ]
    specs = list(WebSphere().specs(ctx))
    commands = [s for s in specs if isinstance(s, CommandSpec)]
    assert [c.argv for c in commands] == [
        (str(SYSROOT / WAS.lstrip("/") / "bin/versionInfo.sh"), "-maintenancePackages"),
        (str(SYSROOT / WAS.lstrip("/") / "bin/manageprofiles.sh"), "-listProfiles"),
    ]
    assert len({s.name for s in specs}) == len(specs)


def test_scripts_run_as_the_installation_owner(tmp_path: Path) -> None:
    script = tmp_path / "opt/IBM/WebSphere/AppServer/bin/versionInfo.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    uid = os.geteuid()
    if uid == 0:
        os.chown(script, 1234, -1)
        uid = 1234
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        f"root:x:0:0::/root:/bin/sh\nwasadmin:x:{uid}:{uid}::/h:/bin/sh\n"
    )
    specs = list(WebSphere().specs(Context(host=host_on(tmp_path))))
    assert {s.run_as for s in specs if isinstance(s, CommandSpec)} == {"wasadmin"}


def make_server(root: Path, pid: str | None, cmdline: bytes | None, proc: bool = True) -> Host:
    logs = root / "p/logs/server1"
    logs.mkdir(parents=True)
    if pid is not None:
        (logs / "server1.pid").write_text(pid)
    if proc:
        (root / "proc").mkdir()
    if cmdline is not None:
        (root / f"proc/{pid}").mkdir()
        (root / f"proc/{pid}/cmdline").write_bytes(cmdline)
    return host_on(root)


SERVER = Server(
    "server1", "cell01", "node01", "/p/config/cells/node01/servers/server1", "/p/logs/server1"
)


@pytest.mark.parametrize(
    ("pid", "cmdline", "proc", "state", "reason"),
    [
        ("77", b"java\0WsServer\0cell01\0node01\0server1\0", True, "running", "is this server"),
        ("77", b"/usr/sbin/sshd\0-D\0", True, "stopped", "is not this server"),
        ("77", None, True, "stopped", "is gone"),
        ("77", None, False, "unknown", "process table is not visible"),
        (None, None, True, "stopped", "no pid file"),
    ],
)  # fmt: skip
def test_server_state_from_pid_file_and_process_table(
    tmp_path: Path, pid: str | None, cmdline: bytes | None, proc: bool, state: str, reason: str
) -> None:
    found = server_state(make_server(tmp_path, pid, cmdline, proc), SERVER)
    assert found["state"] == state and reason in found["state_reason"]
    assert found["pid"] == (int(pid) if pid else None)


# --- end to end ---------------------------------------------------------------------------


def collect(host: FakeHost, run_pa: RunPa, *extra: str) -> Any:
    options = ["--batch", "--json", "--sysroot", str(host.sysroot), "--output", str(host.out)]
    result = run_pa("--product", "websphere", *options, *CUSTOMER, *extra, env=host.env())
    assert result.returncode == 0, result.stderr
    assert no_traceback(result)
    return result


def items_by_source(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["source"]: item for item in manifest["items"] if item["plugin"] == "websphere"}


def encodings(secret: str) -> list[bytes]:
    raw = secret.encode()
    xor = base64.b64encode(bytes(b ^ ord("_") for b in raw))
    # Padding may be escaped (\=) in .props files: look for the forms without it.
    return [raw, base64.b64encode(raw).rstrip(b"="), xor.rstrip(b"=")]


def order_ffdc(host: FakeHost) -> list[str]:
    """Give the FFDC files distinct times: exception.log oldest, incident N newer than N-1."""
    folder = host.sysroot / APP.lstrip("/") / "logs/ffdc"
    files = sorted(folder.iterdir(), key=lambda p: (p.suffix != ".log", p.name))
    base = datetime.now().timestamp() - 3600
    for number, path in enumerate(files):
        os.utime(path, (base + number, base + number))
    return [f"{APP}/logs/ffdc/{p.name}" for p in files]


def test_fake_installation_facts_files_and_no_secrets(
    product_host: ProductHost, run_pa: RunPa, tmp_path: Path
) -> None:
    host = product_host("websphere")
    ffdc = order_ffdc(host)
    collect(host, run_pa, "--since", "2024-05-01")
    manifest = extract(only_bundle(host.out), tmp_path / "x")
    facts = manifest["facts"]["websphere"]
    assert list(Draft202012Validator(SCHEMA).iter_errors(facts)) == []
    assert facts["product"] == "IBM WebSphere Application Server Network Deployment"
    assert (facts["version"], facts["fix_pack"], facts["edition"]) == ("9.0.5.14", "14", "ND")
    assert (facts["build_level"], facts["install_path"]) == ("cf142247.02", WAS)
    assert facts["maintenance_packages"] == [
        "9.0.5.14-WS-WAS-IFPH52117",
        "9.0.5.14-WS-WASND-IFPH53310",
    ]
    assert facts["installations"][0]["profiles_listed"] == ["Dmgr01", "AppSrv01"]
    assert facts["cells"] == ["cell01"]
    assert facts["nodes"] == ["cell01/cellManager01", "cell01/node01"]
    profiles = {p["name"]: p for p in facts["profiles"]}
    assert set(profiles) == {"Dmgr01", "AppSrv01"}
    assert (
        profiles["AppSrv01"]["type"] == "application server" and profiles["AppSrv01"]["is_default"]
    )
    assert profiles["Dmgr01"]["template"] == "management"
    states = {
        (p, s["name"]): (s["state"], s["pid"]) for p in profiles for s in profiles[p]["servers"]
    }
    assert states == {
        ("Dmgr01", "dmgr"): ("stopped", None),
        ("AppSrv01", "nodeagent"): ("stopped", 4243),
        ("AppSrv01", "server1"): ("running", 4242),
    }
    server1 = profiles["AppSrv01"]["servers"][1]
    assert server1["last_start"] == {
        "time": "2024-05-10T08:15:10.004000+02:00",
        "server": "server1",
        "pid": 4242,
    }
    assert (
        profiles["Dmgr01"]["servers"][0]["last_stop"]["time"] == "2024-05-10T09:30:05.211000+02:00"
    )
    assert f"{APP}/logs/server1" in facts["log_paths"]
    assert profiles["AppSrv01"]["ffdc"]["count"] == 8
    assert profiles["AppSrv01"]["ffdc"]["newest"]["name"] == ffdc[-1].rsplit("/", 1)[-1]

    items = items_by_source(manifest)
    for source in (
        f"{APP}/logs/server1/SystemOut.log",
        f"{APP}/logs/server1/SystemErr.log",
        f"{APP}/logs/server1/startServer.log",
        f"{APP}/logs/server1/native_stderr.log",
        f"{APP}/config/cells/cell01/security.xml",
        f"{APP}/config/cells/cell01/resources.xml",
        f"{APP}/config/cells/cell01/nodes/node01/serverindex.xml",
        f"{APP}/config/cells/cell01/nodes/node01/servers/server1/server.xml",
        f"{APP}/properties/soap.client.props",
        f"{DMGR}/logs/dmgr/stopServer.log",
        f"{WAS}/properties/profileRegistry.xml",
    ):
        assert items[source]["outcome"] == "ok", source
    commands = [i for i in items.values() if i["kind"] == "command"]
    assert [(c["outcome"], c["exit_code"]) for c in commands] == [("ok", 0), ("ok", 0)]
    # The newest five FFDC files, and not the older ones.
    assert {s for s in items if "/logs/ffdc/" in s} == set(ffdc[-5:]) | {
        f"{DMGR}/logs/ffdc/dmgr_exception.log"
    }
    # Nothing of another node's servers (the deployment manager's repository has them).
    assert f"{DMGR}/config/cells/cell01/nodes/node01/servers/server1/server.xml" not in items

    root = tmp_path / "x"
    everything = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    for secret in [*PLANTED, "Lz4sLCgwLTs="]:
        for form in encodings(secret):
            assert form not in everything, f"{secret} leaked as {form!r}"
    security = (root / items[f"{APP}/config/cells/cell01/security.xml"]["path"]).read_text()
    assert security.count('assword="********"') == 7
    assert 'bindDN="cn=wasbind,o=example"' in security
    system_out = (root / items[f"{APP}/logs/server1/SystemOut.log"]["path"]).read_bytes()
    assert b"WSVR0024F: Server server1 stopping" in system_out
    assert b"jdbc:db2://db2inst1:********@db2host.example.com" in system_out
    # Keystores are named as secret and skipped, never read.
    secret = {i["source"]: i for i in manifest["items"] if i.get("secret")}
    assert set(secret) >= KEYSTORES
    assert all(secret[k]["outcome"] == "skipped" and secret[k]["path"] is None for k in KEYSTORES)
    assert not [p for p in root.rglob("*.p12")]


def was_stamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return (
        f"[{moment.month}/{moment.day}/{moment:%y} {moment.hour}:{moment:%M:%S}:"
        f"{moment.microsecond // 1000:03d} UTC]"
    )


def write_log(path: Path, ages: list[timedelta], kind: str) -> list[bytes]:
    """A SystemOut-format log with one record per age (before now); some records
    are multi-line and one carries Latin-1 bytes. Returns each record's bytes."""
    now = datetime.now(UTC)
    records = []
    for number, age in enumerate(ages):
        head = f"{was_stamp(now - age)} 0000004f "
        if kind == "SystemErr":
            body = f"SystemErr     R java.lang.IllegalStateException: record {number}\n"
            body += f"\tat com.example.Shop.order(Shop.java:{number})\n"
        else:
            body = f"WebContainer  E   SRVE0777E: record {number} failed\n"
            body += "java.lang.NullPointerException\n\tat com.example.Cart.total(Cart.java:42)\n"
        records.append(head.encode() + body.encode() + b"Kunde M\xfcller\n" * (number % 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    banner = b"************ Start Display Current Environment ************\nx\n"
    path.write_bytes(banner + b"".join(records))
    return records


def test_since_1d_keeps_exactly_the_records_in_the_window(
    product_host: ProductHost, run_pa: RunPa, tmp_path: Path
) -> None:
    host = product_host("websphere")
    ages = [timedelta(days=3), timedelta(hours=30), timedelta(hours=20), timedelta(hours=1)]
    logs = host.sysroot / APP.lstrip("/") / "logs/server1"
    expected = {}
    for kind in ("SystemOut", "SystemErr"):
        records = write_log(logs / f"{kind}.log", ages, kind)
        expected[f"{APP}/logs/server1/{kind}.log"] = b"".join(records[2:])
    collect(host, run_pa, "--since", "1d")
    manifest = extract(only_bundle(host.out), tmp_path / "x")
    items = items_by_source(manifest)
    for source, kept in expected.items():
        data = (tmp_path / "x" / items[source]["path"]).read_bytes()
        assert data == kept, source  # whole records, Latin-1 bytes untouched
        assert [r.text.split(": record ")[-1][0] for r in timed(data)] == ["2", "3"]
    # The committed log of 2024 has no record in the window: nothing of it is kept.
    assert items[f"{DMGR}/logs/dmgr/SystemOut.log"]["size"] == 0


def test_default_window_drops_records_older_than_14_days(
    product_host: ProductHost, run_pa: RunPa, tmp_path: Path
) -> None:
    host = product_host("websphere")
    logs = host.sysroot / APP.lstrip("/") / "logs/server1"
    ages = [timedelta(days=20), timedelta(days=15), timedelta(days=13), timedelta(hours=1)]
    records = write_log(logs / "SystemOut.log", ages, "SystemOut")
    rotated = logs / "SystemOut_24.04.01_00.00.00.log"
    write_log(rotated, [timedelta(days=40)], "SystemOut")
    month_ago = datetime.now().timestamp() - 30 * 86400
    os.utime(rotated, (month_ago, month_ago))
    collect(host, run_pa)
    manifest = extract(only_bundle(host.out), tmp_path / "x")
    items = items_by_source(manifest)
    item = items[f"{APP}/logs/server1/SystemOut.log"]
    assert (tmp_path / "x" / item["path"]).read_bytes() == b"".join(records[2:])
    old = items[f"{APP}/logs/server1/SystemOut_24.04.01_00.00.00.log"]
    assert old["outcome"] == "skipped" and "no record in the time window" in old["reason"]


def test_profile_name_collects_only_that_profile(
    product_host: ProductHost, run_pa: RunPa, tmp_path: Path
) -> None:
    host = product_host("websphere")
    collect(host, run_pa, "--profile-name", "Dmgr01", "--since", "2024-05-01")
    manifest = extract(only_bundle(host.out), tmp_path / "x")
    facts = manifest["facts"]["websphere"]
    assert [p["name"] for p in facts["profiles"]] == ["Dmgr01"]
    assert facts["profile_selection"] == {"requested": "Dmgr01", "found": True}
    assert facts["profiles_found"] == 2
    sources = set(items_by_source(manifest))
    assert f"{DMGR}/logs/dmgr/SystemOut.log" in sources
    assert not [s for s in sources if "/profiles/AppSrv01/" in s]
    assert list(Draft202012Validator(SCHEMA).iter_errors(facts)) == []


def test_unknown_profile_name_collects_no_profile(
    product_host: ProductHost, run_pa: RunPa, tmp_path: Path
) -> None:
    host = product_host("websphere")
    collect(host, run_pa, "--profile-name", "AppSrv99")
    facts = extract(only_bundle(host.out), tmp_path / "x")["facts"]["websphere"]
    assert facts["profiles"] == [] and facts["version"] == "9.0.5.14"
    assert facts["profile_selection"] == {"requested": "AppSrv99", "found": False}


def test_window_start_on_the_sample_is_the_first_record_in_it() -> None:
    data = (samples_dir("was") / "SystemOut.log").read_bytes()
    since = datetime(2020, 5, 10, 3, 11, 37, 795000, tzinfo=UTC)  # the SRVE0255E record
    offset = window_start(io.BytesIO(data), len(data), SYSTEM_OUT, since)
    first = next(iter(timed(data[offset:])))
    assert first.message_id == "SRVE0255E" and first.timestamp == since


def test_plugins_on_this_machine_says_websphere_does_not_apply(
    run_pa: RunPa, tmp_path: Path
) -> None:
    if any(Path(root, "bin/versionInfo.sh").exists() for root in websphere.INSTALL_ROOTS):
        pytest.skip("this machine has WebSphere installed")
    env = {k: v for k, v in os.environ.items() if k != "WAS_HOME"}
    env["HOME"] = str(tmp_path)
    result = run_pa("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    row = next(p for p in json.loads(result.stdout)["plugins"] if p["name"] == "websphere")
    assert row["applies"] is False
    assert "versionInfo.sh" in row["reason"] and "$WAS_HOME" in row["reason"]
    assert f"{WAS}/properties/profileRegistry.xml" in row["reason"]
