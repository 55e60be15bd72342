"""websphere_parse: the pure side of the websphere plugin, split from websphere.py
so that module stays the plugin itself (identity, triggers, discovery, specs, facts).

Here: parsers from collected text or bytes to data (profileRegistry.xml,
setupCmdLine.sh, WAS.product, versionInfo.sh, manageprofiles.sh -listProfiles,
startServer.log/stopServer.log events), the SystemOut.log log format, and the
findings rules, which read a bundle, never the host. Nothing here touches the
host, so each piece is tested and fuzzed on canned input alone.

SystemOut.log format (basic mode)::

    [11/3/17 13:05:22:917 CET] 00000001 WsServerImpl  A   WSVR0001I: Server server1 open

`[date time zone] thread-id short-logger-name type message`, the type being an
event letter (A audit, I info, W warning, E error, F fatal, O System.out,
R System.err, Z unknown, D detail, C config). A record runs until the next
header line: stack traces are its continuation lines.

The date follows the server JVM's locale: `M/d/yy` (en_US) is the common case,
others write `dd/MM/yy` (en_GB, fr, it), `dd.MM.yy` (de, ru), `d-M-yy` (nl),
`yy/MM/dd` (ja), `yy-M-d` (zh), `yyyy/M/d` (zh_TW). A slashed date whose first
field is 12 or less is read as `M/d/yy`: a `dd/MM/yy` record whose day is 12 or
less cannot be told from it, an ambiguity of the format itself. Any other date
is read day first or year first, whichever is valid and latest without being
in the future (`24/05/13` is 13 May 2024, `13/05/24` is 13 May 2024 as well):
the logs collected are recent, and a two-digit day read as a year is either a
past year or a future one. The zone is an abbreviation: the unambiguous ones
map to fixed offsets, `GMT+hh:mm` is read as written, and anything else (IST,
BST, or the host's own zone name, which also covers China's CST) is the host's
local time.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO
from xml.sax.saxutils import unescape

from collector.findings import BundleView, Finding, recent_records
from collector.logwindow import LogFormat, Record, aware, iter_records

# --- parsers: pure functions from text to data ------------------------------------------

_ATTRIBUTE = re.compile(r"([\w:.-]+)\s*=\s*\"([^\"]*)\"")
_PROFILE_TAG = re.compile(r"<profile\s[^>]*>")


def parse_profile_registry(text: str) -> list[dict[str, Any]]:
    """profileRegistry.xml: name, path, template and default flag of each profile
    (reservation tickets, for profiles still being created, are left out).

    >>> parse_profile_registry('<profiles><profile isDefault="true" name="AppSrv01" '
    ...     'path="/p/AppSrv01" template="/t/profileTemplates/default"/></profiles>')
    [{'name': 'AppSrv01', 'path': '/p/AppSrv01', 'template': 'default', 'is_default': True}]
    """
    profiles = []
    for tag in _PROFILE_TAG.findall(text):
        attributes = {key: unescape(value) for key, value in _ATTRIBUTE.findall(tag)}
        if attributes.get("isAReservationTicket") == "true" or "name" not in attributes:
            continue
        template = attributes.get("template", "").rstrip("/").rsplit("/", 1)[-1]
        profiles.append(
            {
                "name": attributes["name"],
                "path": attributes.get("path", "").rstrip("/"),
                "template": template or None,
                "is_default": attributes.get("isDefault") == "true",
            }
        )
    return profiles


_SETUP_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+)?(WAS_CELL|WAS_NODE|USER_INSTALL_ROOT)=\"?([^\"\s$;]+)\"?", re.MULTILINE
)


def parse_setup_cmd_line(text: str) -> dict[str, str]:
    """The literal WAS_CELL / WAS_NODE / USER_INSTALL_ROOT of a profile's
    bin/setupCmdLine.sh.

    >>> parse_setup_cmd_line('WAS_CELL=cell01\\nexport WAS_CELL\\nWAS_NODE=node01\\n')
    {'WAS_CELL': 'cell01', 'WAS_NODE': 'node01'}
    """
    return {match.group(1): match.group(2) for match in _SETUP_ASSIGNMENT.finditer(text)}


def parse_product_file(text: str | None) -> dict[str, str] | None:
    """properties/version/WAS.product: `<product name=..><id/><version/><build-info/>`.

    >>> parse_product_file('<product name="IBM WebSphere Application Server - ND">'
    ...     '<id>ND</id><version>9.0.5.14</version>'
    ...     '<build-info date="11/28/22" level="cf142247.02"/></product>')["build_level"]
    'cf142247.02'
    """
    if not text or "<product" not in text:
        return None
    found = {}
    name = re.search(r"<product\s+name=\"([^\"]*)\"", text)
    if name:
        found["name"] = unescape(name.group(1))
    for tag in ("id", "version"):
        value = re.search(rf"<{tag}>\s*([^<]*?)\s*</{tag}>", text)
        if value:
            found[tag] = value.group(1)
    build = re.search(r"<build-info\s[^>]*>", text)
    for key, value in _ATTRIBUTE.findall(build.group(0) if build else ""):
        if key in ("date", "level"):
            found[f"build_{key}"] = value
    return found or None


_RULE_LINE = re.compile(r"^-{20,}\s*$")
_FIELD = re.compile(r"^(\S.*?)\s{2,}(\S.*?)\s*$")
_CONTINUED = re.compile(r"^\s{8,}(\S.*?)\s*$")
_REPORTER = re.compile(r"WVER0012I: VersionInfo reporter version (\S+),")
_MULTI_VALUED = {"installed_features"}


def parse_version_info(text: str) -> dict[str, Any]:
    """`versionInfo.sh [-maintenancePackages]`: sections of a title line, a dashed
    rule, `Key   value` lines and indented continuation values.

    Returns product_directory, report_time, reporter_version, product_list
    ({id: status}), products (one per "Installed Product") and
    maintenance_packages (one per "Installed Maintenance Package"), with keys in
    snake case ("Build Level" -> build_level). Lines outside the report (JVM
    notices) are ignored."""
    result: dict[str, Any] = {"products": [], "maintenance_packages": [], "product_list": {}}
    lines = text.splitlines()
    section: dict[str, Any] | None = None
    title = last_key = ""
    for number, line in enumerate(lines):
        if _RULE_LINE.match(line):
            continue
        if line.strip() and number + 1 < len(lines) and _RULE_LINE.match(lines[number + 1]):
            title, section, last_key = line.strip(), {}, ""
            if title == "Installed Product":
                result["products"].append(section)
            elif title == "Installed Maintenance Package":
                result["maintenance_packages"].append(section)
            continue
        if line.startswith("Report at date and time "):
            result["report_time"] = line.removeprefix("Report at date and time ").strip()
        if reporter := _REPORTER.search(line):
            result["reporter_version"] = reporter.group(1)
        continued = _CONTINUED.match(line)
        if continued and section is not None and last_key in _MULTI_VALUED:
            section[last_key].append(continued.group(1))
            continue
        pair = _FIELD.match(line)
        if pair is None or section is None:
            continue
        label, value = pair.group(1).strip(), pair.group(2)
        key = re.sub(r"\W+", "_", label.lower()).strip("_")
        if title == "Product List":
            result["product_list"][label] = value
        elif title == "Installation" and key == "product_directory":
            result["product_directory"] = value
        section[key] = [value] if key in _MULTI_VALUED else value
        last_key = key
    return result


def parse_list_profiles(text: str | None) -> list[str] | None:
    """`manageprofiles.sh -listProfiles` prints Java's list form.

    >>> parse_list_profiles("[Dmgr01, AppSrv01]\\n")
    ['Dmgr01', 'AppSrv01']
    """
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            inner = line[1:-1].strip()
            return [name.strip() for name in inner.split(",")] if inner else []
    return None


STARTED = re.compile(r"ADMU3000I: Server (\S+) open for e-business; process id is (\d+)")
STOPPED = re.compile(r"ADMU4000I: Server (\S+) stop completed")


def parse_last_event(data: bytes, event: re.Pattern[str]) -> dict[str, Any] | None:
    """The last start (ADMU3000I, with its process id) or stop (ADMU4000I) of a
    startServer.log / stopServer.log."""
    last = None
    for record in parse_log(data):
        match = event.search(record.text)
        if match:
            last = record, match
    if last is None:
        return None
    record, match = last
    found: dict[str, Any] = {
        "time": record.timestamp.isoformat() if record.timestamp else None,
        "server": match.group(1),
    }
    if event.groups >= 2:
        found["pid"] = int(match.group(2))
    return found


# --- the SystemOut.log format -----------------------------------------------------------

ZONE_OFFSETS = {  # minutes east of UTC, for abbreviations that name one zone only
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 60,
    "CET": 60, "CEST": 120, "MET": 60, "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "JST": 540, "KST": 540, "SGT": 480, "HKT": 480,
    "AEST": 600, "AEDT": 660, "ACST": 570, "ACDT": 630, "AWST": 480, "NZST": 720, "NZDT": 780,
}  # fmt: skip
_NUMERIC_ZONE = re.compile(r"^(?:GMT|UTC)([+-])(\d{1,2}):?(\d{2})?$")
_HEADER = re.compile(
    rb"^\[(\d{1,4})([/.-]) ?(\d{1,2})[/.-] ?(\d{1,4}),? (\d{1,2}):(\d{2}):(\d{2})[:.,](\d{1,3})"
    rb"(?: ([^\]\s]+))?\] "
)
# After the header: thread id, short logger name, event type, message.
_BASIC = re.compile(r"^([0-9A-Fa-f]+) +(\S+) +([A-Z1-3<>])(?: (.*))?$")
# The advanced format: thread id, event type, UOW=... source=...; message on the next line.
_ADVANCED = re.compile(r"^([0-9A-Fa-f]+) ([A-Z1-3<>]) UOW=")
MESSAGE_ID = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]{2,4}\d{4}[A-Z])(?=:)")


def log_time(header: re.Match[bytes]) -> datetime | None:
    """The aware time of a SystemOut header, or None for an impossible date."""
    first, separator, second, third, hour, minute, sec, milli, zone = header.groups()
    a, b, c = int(first), int(second), int(third)
    if len(first) == 4:
        readings = [(a, b, c)]  # yyyy/M/d
    elif separator == b"/" and a <= 12:
        readings = [(c, a, b)]  # M/d/yy
    else:
        readings = [(c, b, a), (a, b, c)]  # d/M/yy, yy/MM/dd
    clock = (int(hour), int(minute), int(sec), int(milli.ljust(3, b"0")) * 1000)
    dates = [moment for moment in (_date(r, clock) for r in readings) if moment is not None]
    if not dates:
        return None
    latest = _now() + timedelta(days=1)
    past = [moment for moment in dates if moment <= latest]
    moment = max(past) if past else min(dates)
    return _zoned(moment, zone.decode("ascii", errors="replace") if zone else "")


def _date(ymd: tuple[int, int, int], clock: tuple[int, int, int, int]) -> datetime | None:
    year, month, day = ymd
    hour, minute, second, micro = clock
    try:
        return datetime(
            year + 2000 if year < 100 else year, month, day, hour, minute, second, micro
        )
    except ValueError:
        return None


def _now() -> datetime:
    """Naive local now, the bound of a plausible log date."""
    return datetime.now()


def _zoned(moment: datetime, zone: str) -> datetime:
    numeric = _NUMERIC_ZONE.match(zone)
    if numeric:
        minutes = int(numeric.group(2)) * 60 + int(numeric.group(3) or 0)
        sign = -1 if numeric.group(1) == "-" else 1
        if minutes < 24 * 60:  # a zone of a day or more is garbage: take local time
            return moment.replace(tzinfo=timezone(timedelta(minutes=sign * minutes)))
        return aware(moment)
    # The host's own zone name means the host's zone (China's CST, not Chicago's).
    if zone in ZONE_OFFSETS and zone != aware(moment).tzname():
        return moment.replace(tzinfo=timezone(timedelta(minutes=ZONE_OFFSETS[zone])))
    return aware(moment)


def _decode(raw: bytes) -> str:
    """UTF-8, else Latin-1: a JVM writes in its file.encoding, and Latin-1 keeps
    every byte (text.encode("latin-1") gives the bytes back)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class SystemOutFormat(LogFormat):
    """SystemOut.log, SystemErr.log, startServer.log and stopServer.log."""

    name = "websphere-systemout"
    record_start = _HEADER

    def timestamp(self, header: re.Match[bytes], stream: BinaryIO, offset: int) -> datetime | None:
        return log_time(header)

    def parse(self, offset: int, raw: bytes, timestamp: datetime | None) -> Record:
        text = _decode(raw).rstrip("\r\n")
        header = _HEADER.match(raw)
        if header is None:  # what precedes the first record: the environment banner
            return Record(offset, timestamp, None, None, text)
        first, _, rest = _decode(raw[header.end() :]).partition("\n")
        first = first.rstrip("\r")
        advanced = _ADVANCED.match(first)
        basic = None if advanced else _BASIC.match(first)
        if advanced:
            level, message = advanced.group(2), rest.partition("\n")[0]
        elif basic:
            level, message = basic.group(3), basic.group(4) or ""
        else:
            level, message = None, first
        found = MESSAGE_ID.search(message)
        return Record(offset, timestamp, level, found.group(1) if found else None, text)


SYSTEM_OUT = SystemOutFormat()


def parse_log(data: bytes) -> Iterator[Record]:
    """The records of SystemOut-format bytes; the banner before the first header,
    if any, is a record without a timestamp."""
    yield from iter_records(io.BytesIO(data), SYSTEM_OUT)


# --- findings (engineer side: read from a bundle, never from the host) ------------

ERROR_LEVELS = ("E", "F")  # SystemOut event types: error, fatal


def servers_not_running(bundle: BundleView) -> list[Finding]:
    """websphere.server_not_running: a server whose pid file and the process
    table said it was stopped when the bundle was made."""
    found = []
    for p, profile in enumerate(bundle.facts("websphere").get("profiles") or []):
        for s, server in enumerate(profile.get("servers") or []):
            if server.get("state") != "stopped":
                continue
            found.append(
                Finding(
                    "websphere.server_not_running",
                    "medium",
                    f"server {server.get('name')} of profile {profile.get('name')} is not "
                    f"running: {server.get('state_reason') or 'stopped'}",
                    f"manifest.json#/facts/websphere/profiles/{p}/servers/{s}",
                )
            )
    return found


def recent_errors(bundle: BundleView) -> list[Finding]:
    """websphere.recent_errors: E (error) and F (fatal) entries in the 24 hours
    before the bundle was made, one finding per log."""
    found = []
    for log, records in recent_records(bundle, "websphere", ERROR_LEVELS):
        ids = Counter(r.message_id or "(no message id)" for r in records)
        listed = ", ".join(f"{message} x{n}" for message, n in ids.most_common(5))
        fatal = any(r.level == "F" for r in records)
        message = f"{len(records)} E/F entries in the 24 h before collection: {listed}"
        found.append(
            Finding("websphere.recent_errors", "high" if fatal else "medium", message, log)
        )
    return found
