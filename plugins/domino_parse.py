"""domino_parse: what the domino plugin makes of the files it collected.

Pure functions and log formats, no host access: the console.log and HTTP access
log formats (with their timestamp rules), the release read from a start-up
banner or NSD header, notes.ini, the start script's shell config and
.install.dat; and the findings, which read a bundle, never a host. They live
apart from plugins/domino.py so that module stays a screen of what to collect,
and so these can be tested and fuzzed on canned text alone.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

from collector.findings import BundleView, Finding
from collector.logwindow import LogFormat, Record, aware

KIT_TYPES = {"1": "client", "2": "server"}

# --- console.log ---------------------------------------------------------------

# `[0D14:0027-1334] 03/21/2023 10:15:02 AM  Router: ...` (the [pid:tid-thread]
# prefix is optional; Domino 12 widens it to [028325:000010-00007F1A2B3C4700]).
CONSOLE_RECORD = re.compile(
    rb"^(?:\[(?P<pid>[0-9A-Fa-f]+):(?P<tid>[0-9A-Fa-f]+)(?:-(?P<thread>[0-9A-Fa-f]+))?\][ \t]+)?"
    rb"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})[ \t]+"
    rb"(?P<time>\d{1,2}:\d{2}:\d{2})(?:[.,]\d+)?"
    rb"(?:[ \t]*(?P<ampm>[AaPp]\.?[Mm]\.?)(?![A-Za-z]))?"
)
DATE_ORDERS = ("MDY", "DMY", "YMD")


def console_datetime(
    date: str, clock: str, ampm: str | None = None, date_order: str | None = None
) -> datetime | None:
    """A console date and time as written (naive local time), or None.

    Domino writes dates in the server's locale, so `03/04/2023` is ambiguous.
    The rule: a four-digit first field is year-month-day; otherwise notes.ini's
    DateOrder (MDY, DMY, YMD) when given; otherwise month first with '/' (the
    US default) and day first with '.' and '-' (European locales). A date that
    is impossible in that order (a 13th month) is read in the other order.
    """
    parts = re.split(r"[./-]", date)
    if len(parts) != 3:
        return None
    separator = date[len(parts[0])]
    if len(parts[0]) == 4:
        orders = ["YMD"]
    else:
        first = (date_order or "").upper()
        if first not in DATE_ORDERS:
            first = "MDY" if separator == "/" else "DMY"
        orders = [first] + [o for o in ("MDY", "DMY") if o != first]
    for order in orders:
        moment = _date_in_order(parts, order, clock, ampm)
        if moment is not None:
            return moment
    return None


def _date_in_order(parts: list[str], order: str, clock: str, ampm: str | None) -> datetime | None:
    fields = dict(zip(order, (int(p) for p in parts), strict=True))
    year = fields["Y"] + (2000 if fields["Y"] < 100 else 0)
    hour, minute, second = (int(p) for p in clock.split(":"))
    marker = (ampm or "").replace(".", "").upper()
    if marker and hour <= 12:
        hour = hour % 12 + (12 if marker == "PM" else 0)
    try:
        return datetime(year, fields["M"], fields["D"], hour, minute, second)
    except ValueError:
        return None


class ConsoleLogFormat(LogFormat):
    """Domino console.log: one record per timestamped line; lines without a
    timestamp (banners, stack lines, wrapped text) belong to the record before."""

    name = "domino-console"
    record_start = CONSOLE_RECORD

    def __init__(self, date_order: str | None = None) -> None:
        self.date_order = date_order

    def options(self) -> dict[str, str]:
        return {"date_order": self.date_order} if self.date_order else {}

    def timestamp(self, header: re.Match[bytes], stream: BinaryIO, offset: int) -> datetime | None:
        ampm = header.group("ampm")
        moment = console_datetime(
            header.group("date").decode("ascii"),
            header.group("time").decode("ascii"),
            ampm.decode("ascii") if ampm else None,
            self.date_order,
        )
        return aware(moment) if moment else None

    def parse(self, offset: int, raw: bytes, timestamp: datetime | None) -> Record:
        text = raw.decode(self.encoding, errors="replace").rstrip("\n")
        return Record(offset, timestamp, None, None, text)


def parse_console_line(line: str, date_order: str | None = None) -> dict[str, Any] | None:
    """The parts of one console line that starts a record; None for a
    continuation line. `timestamp` is naive local time."""
    match = CONSOLE_RECORD.match(line.encode("utf-8", errors="surrogateescape"))
    if match is None:
        return None
    groups = {k: (v.decode("ascii") if v else None) for k, v in match.groupdict().items()}
    moment = console_datetime(
        groups["date"] or "", groups["time"] or "", groups["ampm"], date_order
    )
    if moment is None:
        return None
    rest = line.encode("utf-8", errors="surrogateescape")[match.end() :]
    return {
        "pid": groups["pid"],
        "tid": groups["tid"],
        "thread": groups["thread"],
        "timestamp": moment,
        "text": rest.decode("utf-8", errors="surrogateescape").strip(),
    }


# --- releases: console banner and NSD header ----------------------------------

# `HCL Domino (r) Server (64 Bit), Release 12.0.2FP2, March 14, 2023`,
# `Lotus Domino (r) Server (Release 8.5 for Windows/32) 2010-07-30 00:52:58`,
# `Lotus Domino (r) Server, Build V85_M2_08202008, August 20, 2008`.
BANNER = re.compile(r"\b(?P<vendor>HCL|IBM|Lotus)\s+Domino\s*\(r\)\s+Server\b(?P<rest>.*)")
RELEASE = re.compile(
    r"\bRelease\s+(?P<version>\d+(?:\.\d+)*)[ \t]*(?P<fix_pack>FP\d+)?"
    r"[ \t]*(?P<interim_fix>(?:S?HF|IF)\d+)?",
    re.IGNORECASE,
)
BUILD = re.compile(r"\bBuild\s+(?P<build>V[\w.-]+)")


def parse_release(text: str) -> dict[str, Any] | None:
    """Release, fix pack, interim fix and build from a line naming the release."""
    release = RELEASE.search(text)
    build = BUILD.search(text)
    if release is None and build is None:
        return None
    return {
        "version": release.group("version") if release else None,
        "fix_pack": _upper(release.group("fix_pack")) if release else None,
        "interim_fix": _upper(release.group("interim_fix")) if release else None,
        "build_level": build.group("build") if build else None,
    }


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


def parse_banner(line: str) -> dict[str, Any] | None:
    """The start-up banner `HCL Domino (r) Server (64 Bit), Release ...`."""
    banner = BANNER.search(line)
    if banner is None:
        return None
    release = parse_release(banner.group("rest"))
    if release is None:
        return None
    return {"product": f"{banner.group('vendor')} Domino", **release}


def last_banner(text: str) -> str | None:
    """The newest start-up banner line in a piece of console log."""
    found = None
    for line in text.splitlines():
        if parse_banner(line):
            found = line.strip()
    return found


def parse_nsd_header(text: str, max_lines: int = 200) -> dict[str, Any] | None:
    """The Domino release from an NSD report's header (its first lines name the
    release, e.g. `Domino Release 12.0.2FP2`): the first such line wins."""
    for line in text.splitlines()[:max_lines]:
        if not re.search(r"Domino|Notes|NSD", line, re.IGNORECASE):
            continue
        release = parse_banner(line) or parse_release(line)
        if release and release.get("version"):
            return {"line": line.strip(), **release}
    return None


NSD_NAME_TIME = re.compile(r"_(\d{4})_(\d{2})_(\d{2})@(\d{2})_(\d{2})_(\d{2})\.log$")


def parse_nsd_name(name: str) -> datetime | None:
    """When an NSD ran, from its name: nsd_all_Linux_host_2023_03_21@10_15_02.log."""
    match = NSD_NAME_TIME.search(name)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def release_from_evidence(evidence: Iterable[Mapping[str, str]]) -> dict[str, Any]:
    """The first piece of evidence that parses, with where it came from."""
    for item in evidence:
        line = item.get("line", "")
        parsed = parse_banner(line) or parse_nsd_header(line)
        if parsed and parsed.get("version"):
            parsed.pop("line", None)
            return {**parsed, "version_source": f"{item.get('source')} ({item.get('kind')})"}
    return {}


# --- HTTP access log (domlog text files) -------------------------------------

# NCSA with the virtual host second: `client vhost user [date] "request" status bytes`,
# optionally followed by "referer" "agent" and Domino's extra fields.
ACCESS_LINE = re.compile(
    r"^(?P<client>\S+) (?P<vhost>\S+) (?P<user>.+?) \[(?P<time>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}|-) (?P<bytes>\d+|-)'
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?'
)
ACCESS_TIME = re.compile(
    rb"\[(?P<day>\d{2})/(?P<mon>[A-Za-z]{3})/(?P<year>\d{4}):(?P<clock>\d{2}:\d{2}:\d{2}) "
    rb"(?P<zone>[+-]\d{4})\]"
)
MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def access_time(text: bytes) -> datetime | None:
    """`[05/Nov/2006:00:00:13 -0500]` as an aware datetime (month names are
    English whatever the locale, so no strptime)."""
    match = ACCESS_TIME.search(text)
    if match is None:
        return None
    month = MONTHS.get(match.group("mon").decode("ascii").lower())
    if month is None:
        return None
    zone = match.group("zone").decode("ascii")
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    hour, minute, second = (int(p) for p in match.group("clock").split(b":"))
    try:
        return datetime(
            int(match.group("year")),
            month,
            int(match.group("day")),
            hour,
            minute,
            second,
            tzinfo=timezone(-offset if zone[0] == "-" else offset),
        )
    except ValueError:
        return None


class AccessLogFormat(LogFormat):
    """Domino HTTP text access log: one request per line, zone in the line."""

    name = "domino-http-access"
    record_start = re.compile(
        rb"^\S+ \S+ .*?\[\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]"
    )

    def timestamp(self, header: re.Match[bytes], stream: BinaryIO, offset: int) -> datetime | None:
        return access_time(header.group(0))

    def parse(self, offset: int, raw: bytes, timestamp: datetime | None) -> Record:
        text = raw.decode(self.encoding, errors="replace").rstrip("\n")
        fields = parse_access_line(text)
        return Record(offset, timestamp, _status_level(fields), None, text)


def _status_level(fields: Mapping[str, Any] | None) -> str | None:
    """5xx answers are server errors, 4xx client errors, the rest information."""
    status = (fields or {}).get("status") or ""
    if not status.isdecimal():
        return None
    return {"5": "error", "4": "warning"}.get(status[0], "info")


def parse_access_line(line: str) -> dict[str, Any] | None:
    match = ACCESS_LINE.match(line)
    if match is None:
        return None
    fields: dict[str, Any] = match.groupdict()
    method, _, rest = fields["request"].partition(" ")
    fields["method"] = method
    fields["path"] = rest.rsplit(" ", 1)[0] if " HTTP/" in rest else rest
    fields["timestamp"] = access_time(f"[{fields['time']}]".encode())
    return fields


def access_summary(text: str) -> dict[str, Any]:
    """Counts an engineer looks at first: requests, status codes, virtual hosts,
    and requests for Notes databases (.nsf)."""
    status: Counter[str] = Counter()
    vhosts: Counter[str] = Counter()
    requests = nsf = 0
    for line in text.splitlines():
        fields = parse_access_line(line)
        if fields is None:
            continue
        requests += 1
        status[fields["status"]] += 1
        vhosts[fields["vhost"]] += 1
        nsf += ".nsf" in fields["path"].lower()
    return {"requests": requests, "status": dict(status), "vhosts": dict(vhosts), "nsf": nsf}


# --- configuration files --------------------------------------------------------


def parse_notes_ini(text: str) -> dict[str, str]:
    """notes.ini as {lower-case key: value}; the first of duplicate keys wins,
    as it does for Domino. The `[Notes]` section line is skipped."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or key.startswith(("[", ";", "#")):
            continue
        settings.setdefault(key.lower(), value.strip())
    return settings


def notes_ini_facts(ini: Mapping[str, str]) -> dict[str, Any]:
    """What support asks about first, from parsed notes.ini."""
    tasks = [t.strip() for t in ini.get("servertasks", "").split(",") if t.strip()]
    key_file = ini.get("serverkeyfilename") or None
    kit = ini.get("kittype")
    return {
        "server_name": ini.get("servername") or ini.get("mailserver") or None,
        "domain": ini.get("domain") or None,
        "data_directory": ini.get("directory") or None,
        "program_directory": ini.get("notesprogram") or None,
        # Only the file's name: where an ID file lives is nobody's business.
        "server_id_file": posixpath.basename(key_file.replace("\\", "/")) if key_file else None,
        "kit_type": KIT_TYPES.get(kit or "", kit) if kit else None,
        "server_tasks": tasks,
        "nsf_buffer_pool_size_mb": _buffer_pool_mb(ini),
        "date_order": (ini.get("dateorder") or "").upper() or None,
        "log_directory": ini.get("logfile_dir") or None,
    }


def _buffer_pool_mb(ini: Mapping[str, str]) -> int | None:
    """NSF_Buffer_Pool_Size_MB, else NSF_Buffer_Pool_Size (bytes) in MB."""
    megabytes = ini.get("nsf_buffer_pool_size_mb", "")
    if megabytes.isdecimal():
        return int(megabytes)
    size = ini.get("nsf_buffer_pool_size", "")
    return int(size) // (1024 * 1024) if size.isdecimal() else None


def parse_shell_config(text: str) -> dict[str, str]:
    """VAR=value lines of a shell config such as rc_domino_config."""
    settings = {}
    for line in text.splitlines():
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_]\w*)=(.*)$", line)
        if match:
            value = match.group(2).split(" #", 1)[0].strip().strip("\"'")
            settings[match.group(1)] = value
    return settings


def parse_install_dat(text: str) -> str | None:
    """The installer's last `rev = "..."` in .install.dat (the release code the
    installer recorded, reported raw: its encoding is not documented)."""
    found = re.findall(r'^\s*rev\s*=\s*"?([\w.]+)"?', text, re.MULTILINE)
    return found[-1] if found else None


# --- findings (engineer side: read from a bundle, never from the host) ------------


def servers_not_running(bundle: BundleView) -> list[Finding]:
    """domino.server_not_running: no `server` process ran in a data directory
    when the bundle was made (only known for a collection on the live machine)."""
    found = []
    for number, server in enumerate(bundle.facts("domino").get("servers") or []):
        if server.get("state") != "stopped":
            continue
        found.append(
            Finding(
                "domino.server_not_running",
                "high",
                f"Domino server {server.get('server_name') or server.get('data_directory')} "
                "is not running",
                f"manifest.json#/facts/domino/servers/{number}/state",
            )
        )
    return found


def nsd_reports(bundle: BundleView) -> list[Finding]:
    """domino.nsd_files: NSD reports in a server's diagnostic folder: Domino
    writes one when a server crashes or hangs (or when someone runs nsd)."""
    found = []
    for number, server in enumerate(bundle.facts("domino").get("servers") or []):
        files = server.get("nsd_files") or []
        if not files:
            continue
        found.append(
            Finding(
                "domino.nsd_files",
                "medium",
                f"{len(files)} NSD report(s) (crash or hang) for "
                f"{server.get('server_name') or server.get('data_directory')}, newest {files[0]}",
                f"manifest.json#/facts/domino/servers/{number}/nsd_files",
            )
        )
    return found
