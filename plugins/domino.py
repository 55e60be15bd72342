"""domino: HCL (formerly IBM/Lotus) Domino server.

Collects, for each Domino data directory found (one per server or partition,
at most 10): notes.ini, the console log IBM_TECHNICAL_SUPPORT/console.log and
its newest rotated copies cut to the time window, the newest NSD crash/hang
reports, the newest semaphore debug files and HTTP text access logs; plus the
community start script's configuration (/etc/sysconfig/rc_domino_config*) and
the installer's .install.dat. Facts: release and fix pack, server name, domain,
server tasks, data and program directories, and where the logs are.

Nothing is run: Domino has no read-only command that works without a running
server, and the `server` program itself must never be started by a collector.

Safe to send: ID files (server.id, cert.id, user.id) hold private keys and are
never named by any spec or glob here, because the core's secret-file denylist
does not know the .id suffix. Keyrings (.kyr) and stash files (.sth) are named
only so the manifest shows they exist; the core refuses them unread. Every
collected file passes the central redactor plus this plugin's rules for the
notes.ini secrets the baseline misses: keys ending in PW, PASS or PIN, values
with spaces, and `set config NAME=value` commands echoed in the console log.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import psutil

from collector.findings import BundleView, Finding
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.logwindow import LogFormat, Record, aware
from collector.plugin import Collected, Context, Plugin
from collector.redact import MASK, Rule
from collector.spec import FactSpec, FileSpec, GlobSpec, LogSpec, Spec, slug

INSTALL_DIRS = ("/opt/hcl/domino", "/opt/ibm/domino", "/opt/ibm/lotus", "/opt/lotus")
PROGRAM_SUBDIR = "notes/latest/linux"
DEFAULT_DATA_DIRS = ("/local/notesdata", "/opt/hcl/domino/notesdata")
# Partitioned servers usually sit beside the default one: /local/notesdata2 ...
PARTITION_INI_GLOB = "/local/*/notes.ini"
START_SCRIPT_CONFIGS = "/etc/sysconfig/rc_domino_config*"
DIAG_SUBDIR = "IBM_TECHNICAL_SUPPORT"
MAX_SERVERS = 10
NEWEST_NSD = 3
NEWEST_ROTATED_CONSOLE = 3
NEWEST_SEMDEBUG = 2
NEWEST_ACCESS_LOGS = 3
# The start-up banner is near the top of console.log (Domino renames the old
# one at start-up) and the release is in an NSD report's first lines.
CONSOLE_HEAD = 1024 * 1024
NSD_HEAD = 64 * 1024
KIT_TYPES = {"1": "client", "2": "server"}


# --- redaction ---------------------------------------------------------------

# A notes.ini key that names a secret: it ends in a secret word. The baseline
# rules miss PW/PASS/PIN endings (LDAP_BIND_PW, SMTP_RELAY_PASS) and stop a
# value at its first space, while a notes.ini value runs to the end of the line.
_INI_SECRET_KEY = rb"\$?[\w.$]*?(?:passw(?:or)?d|pwd|pw|passphrase|secret|(?<!by)pass|pin)"
_SECRET_TRIGGERS = (b"pass", b"pw", b"secret", b"pin")


def _mask_value(match: re.Match[bytes]) -> bytes:
    value = match.group("val")
    if not value or value.strip(b"\"'") == MASK:
        return match.group(0)  # empty, or already masked whole by the baseline
    return match.group("lead") + MASK + match.group("trail")


REDACTION_RULES = (
    Rule(
        "domino_notes_ini_secret",
        re.compile(
            rb"^(?P<lead>[ \t]*" + _INI_SECRET_KEY + rb"[ \t]*=[ \t]*)"
            rb"(?P<val>[^\r\n]*?)(?P<trail>[ \t]*\r?)$",
            re.IGNORECASE | re.MULTILINE,
        ),
        _mask_value,
        _SECRET_TRIGGERS,
    ),
    # `> set config LDAP_BIND_PW=x y` typed at the console is echoed in console.log.
    Rule(
        "domino_set_config_secret",
        re.compile(
            rb"(?P<lead>\bset[ \t]+config[ \t]+\"?" + _INI_SECRET_KEY + rb"[ \t]*=[ \t]*)"
            rb"(?P<val>[^\r\n\"]*?)(?P<trail>[ \t]*(?:\"|\r|$))",
            re.IGNORECASE | re.MULTILINE,
        ),
        _mask_value,
        (b"set config",),
    ),
)


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


def release_evidence(
    host: Host, *, console_logs: tuple[str, ...], nsd_files: tuple[str, ...]
) -> list[dict[str, str]]:
    """Lines that name the running release, newest source first: the banner
    at the top of each console log, then NSD headers. Reads only file heads,
    so the answer does not depend on the time window or on log size."""
    found = []
    for path in console_logs:
        line = last_banner(_head_text(host, path, CONSOLE_HEAD))
        if line:
            found.append({"source": path, "kind": "console start-up banner", "line": line})
    for path in nsd_files:
        header = parse_nsd_header(_head_text(host, path, NSD_HEAD))
        if header:
            found.append({"source": path, "kind": "NSD header", "line": header["line"]})
    return found


def _head_text(host: Host, path: str, limit: int) -> str:
    try:
        with host.path(path).open("rb") as stream:
            return stream.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


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


# --- discovery ------------------------------------------------------------------


@dataclass(frozen=True)
class DataDir:
    """One Domino server (partition): its data directory and what is in it."""

    path: str
    found_by: str
    key: str = ""
    notes_ini: str = ""
    server_name: str | None = None
    date_order: str | None = None
    program_directory: str | None = None
    diag_dir: str = ""
    console_log: str | None = None
    rotated_console_logs: tuple[str, ...] = ()
    nsd_files: tuple[str, ...] = ()
    id_files: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "data_directory": self.path,
            "found_by": self.found_by,
            "notes_ini": self.notes_ini,
            "diagnostic_directory": self.diag_dir,
            "console_log": self.console_log,
            "nsd_files": [posixpath.basename(p) for p in self.nsd_files],
            "id_files_not_collected": list(self.id_files),
        }


@dataclass(frozen=True)
class Layout:
    install_path: str | None
    program_directory: str | None
    install_found_by: str | None
    servers: tuple[DataDir, ...]
    selection: str | None = None
    not_selected: tuple[str, ...] = field(default=())

    def document(self) -> dict[str, Any]:
        return {
            "install_path": self.install_path,
            "program_directory": self.program_directory,
            "install_found_by": self.install_found_by,
            "servers": [s.document() for s in self.servers],
            "selection": self.selection,
            "not_selected": list(self.not_selected),
        }


def discover(ctx: Context) -> Layout:
    """Data directories (each with a notes.ini) and the program directory."""
    start_script = _start_script_settings(ctx)
    found = [_describe(ctx, d) for d in _data_dir_candidates(ctx, start_script)]
    servers = _unique_keys(found[:MAX_SERVERS])
    install, program, how = _install(ctx, servers, start_script)
    wanted = ctx.selection.get("instance")
    if not wanted:
        return Layout(install, program, how, servers)
    chosen = tuple(s for s in servers if _matches(s, wanted))
    others = tuple(s.server_name or s.path for s in servers if s not in chosen)
    return Layout(install, program, how, chosen, wanted, others)


def _unique_keys(servers: list[DataDir]) -> tuple[DataDir, ...]:
    """Spec-name prefixes stay distinct even when two paths slug alike (/a b, /a_b)."""
    seen: set[str] = set()
    unique = []
    for number, server in enumerate(servers, 1):
        key = server.key if server.key not in seen else f"{server.key}_{number}"
        seen.add(key)
        unique.append(replace(server, key=key))
    return tuple(unique)


def _start_script_settings(ctx: Context) -> list[tuple[str, dict[str, str]]]:
    return [
        (path, parse_shell_config(ctx.read_text(path) or ""))
        for path in ctx.glob(START_SCRIPT_CONFIGS)
    ]


def _data_dir_candidates(
    ctx: Context, start_script: list[tuple[str, dict[str, str]]]
) -> list[tuple[str, str]]:
    """(data directory, how it was found), first finding wins, only those with
    a notes.ini."""
    candidates = [(s.get("DOMINO_DATA_PATH", ""), path) for path, s in start_script]
    candidates += [(ctx.host.env.get(v, ""), f"${v}") for v in ("NOTESDATA", "DOMINO_DATA_PATH")]
    candidates += [(d, "default location") for d in DEFAULT_DATA_DIRS]
    candidates += [(posixpath.dirname(p), PARTITION_INI_GLOB) for p in ctx.glob(PARTITION_INI_GLOB)]
    seen: dict[str, str] = {}
    for directory, how in candidates:
        if not directory.startswith("/"):
            continue
        directory = posixpath.normpath(directory)
        if directory not in seen and ctx.host.path(f"{directory}/notes.ini").is_file():
            seen[directory] = how
    return list(seen.items())


def _describe(ctx: Context, candidate: tuple[str, str]) -> DataDir:
    path, how = candidate
    ini = notes_ini_facts(parse_notes_ini(ctx.read_text(f"{path}/notes.ini") or ""))
    diag = _diag_dir(path, ini["log_directory"])
    console = f"{diag}/console.log"
    return DataDir(
        path=path,
        found_by=how,
        key=slug(path.strip("/")).lower(),
        notes_ini=f"{path}/notes.ini",
        server_name=ini["server_name"],
        date_order=ini["date_order"],
        program_directory=ini["program_directory"],
        diag_dir=diag,
        console_log=console if ctx.host.path(console).is_file() else None,
        rotated_console_logs=_newest(ctx, f"{diag}/console_*.log", NEWEST_ROTATED_CONSOLE),
        nsd_files=_newest(ctx, f"{diag}/nsd_*.log", NEWEST_NSD),
        id_files=tuple(posixpath.basename(p) for p in ctx.glob(f"{path}/*.id")),
    )


def _diag_dir(data_dir: str, log_dir: str | None) -> str:
    """IBM_TECHNICAL_SUPPORT, unless notes.ini's Logfile_Dir moves it."""
    if not log_dir:
        return f"{data_dir}/{DIAG_SUBDIR}"
    return posixpath.normpath(posixpath.join(data_dir, log_dir.replace("\\", "/")))


def _newest(ctx: Context, pattern: str, count: int) -> tuple[str, ...]:
    """The `count` most recently written matches, newest first (the order the
    planner uses for GlobSpec(newest=...))."""
    stamped = []
    for path in ctx.glob(pattern):
        try:
            stamped.append((ctx.host.path(path).stat().st_mtime, path))
        except OSError:
            continue
    return tuple(path for _, path in sorted(stamped, reverse=True)[:count])


def _install(
    ctx: Context, servers: tuple[DataDir, ...], start_script: list[tuple[str, dict[str, str]]]
) -> tuple[str | None, str | None, str | None]:
    """(install path, program directory, how found)."""
    candidates = [(s.program_directory, f"NotesProgram in {s.notes_ini}") for s in servers]
    candidates.append((ctx.host.env.get("Notes_ExecDirectory"), "$Notes_ExecDirectory"))
    candidates += [
        (f"{s['LOTUS']}/{PROGRAM_SUBDIR}" if s.get("LOTUS") else None, path)
        for path, s in start_script
    ]
    candidates += [(f"{d}/{PROGRAM_SUBDIR}", "standard install directory") for d in INSTALL_DIRS]
    for program, how in candidates:
        if program and ctx.host.path(f"{program}/server").is_file():
            program = posixpath.normpath(program)
            return _install_root(program), program, how
    return None, None, None


def _install_root(program: str) -> str:
    """/opt/hcl/domino from /opt/hcl/domino/notes/latest/linux (or notes/<code>/linux)."""
    parts = program.split("/")
    if len(parts) > 3 and parts[-3] == "notes" and parts[-1] == "linux":
        return "/".join(parts[:-3]) or "/"
    return program


def _matches(server: DataDir, wanted: str) -> bool:
    """--instance names a server (CN=srv/O=Org, srv/Org or srv) or a data directory."""
    wanted = wanted.strip()
    names = {server.path, posixpath.basename(server.path)}
    if server.server_name:
        full = server.server_name
        abbreviated = re.sub(r"\b(?:CN|OU|O|C)=", "", full, flags=re.IGNORECASE)
        names |= {full, abbreviated, abbreviated.split("/")[0]}
    return wanted.lower() in {n.lower() for n in names} or posixpath.normpath(wanted) == server.path


# --- processes ------------------------------------------------------------------


def domino_processes(host: Host) -> dict[str, Any]:
    """Running Domino `server` processes with their working directory (the data
    directory). Only on the live machine: a --sysroot image has no processes."""
    if host.sysroot != Path("/"):
        return {"live": False, "servers": []}
    found = []
    for proc in psutil.process_iter(["pid", "name", "exe", "cwd", "username", "create_time"]):
        info = proc.info
        if is_domino_server(info.get("name"), info.get("exe")):
            found.append({k: info.get(k) for k in ("pid", "exe", "cwd", "username", "create_time")})
    return {"live": True, "servers": found}


def is_domino_server(name: str | None, exe: str | None) -> bool:
    return (
        name == "server"
        and bool(exe)
        and "/notes/" in (exe or "")
        and (exe or "").endswith("/server")
    )


def server_state(data_dir: str, processes: Mapping[str, Any]) -> str:
    """running / stopped from the process table; unknown off the live machine
    or when a server process's working directory cannot be read."""
    if not processes.get("live"):
        return "unknown"
    running = processes.get("servers") or []
    if any(posixpath.normpath(p.get("cwd") or "") == data_dir for p in running):
        return "running"
    if any(not p.get("cwd") for p in running):
        return "unknown"
    return "stopped"


# --- the plugin -------------------------------------------------------------------


def _constant(value: Any) -> Callable[[Host], Any]:
    return lambda host: value


def notes_ini_spec(server: DataDir) -> Spec:
    return FileSpec(name=f"{server.key}_notes_ini", path=server.notes_ini)


def server_specs(server: DataDir) -> list[Spec]:
    """What to collect for one server. No pattern here can match an .id file."""
    key, diag = server.key, server.diag_dir
    console = ConsoleLogFormat(server.date_order)
    heads = ((server.console_log,) if server.console_log else ()) + server.rotated_console_logs
    return [
        notes_ini_spec(server),
        LogSpec(name=f"{key}_console_log", pattern=f"{diag}/console.log", format=console),
        LogSpec(
            name=f"{key}_console_rotated",
            pattern=f"{diag}/console_*.log",
            newest=NEWEST_ROTATED_CONSOLE,
            format=console,
        ),
        GlobSpec(name=f"{key}_nsd", pattern=f"{diag}/nsd_*.log", newest=NEWEST_NSD),
        GlobSpec(name=f"{key}_semdebug", pattern=f"{diag}/semdebug*.txt", newest=NEWEST_SEMDEBUG),
        LogSpec(
            name=f"{key}_http_access",
            pattern=f"{server.path}/access*.log",
            newest=NEWEST_ACCESS_LOGS,
            format=AccessLogFormat(),
        ),
        # Named so the manifest records the keyrings; the core refuses them unread.
        GlobSpec(name=f"{key}_keyrings", pattern=f"{server.path}/*.kyr"),
        GlobSpec(name=f"{key}_keyring_stashes", pattern=f"{server.path}/*.sth"),
        FactSpec(
            name=f"{key}_release",
            collect=partial(release_evidence, console_logs=heads, nsd_files=server.nsd_files),
        ),
    ]


class Domino(Plugin):
    name = "domino"
    log_formats = (ConsoleLogFormat, AccessLogFormat)
    description = "HCL Domino server: notes.ini, console log, NSD reports, release"
    paths = (
        *(f"{d}/{PROGRAM_SUBDIR}/server" for d in INSTALL_DIRS),
        *(f"{d}/notes.ini" for d in DEFAULT_DATA_DIRS),
        "/etc/sysconfig/rc_domino_config",
    )
    env_vars = ("Notes_ExecDirectory", "NOTESDATA", "DOMINO_DATA_PATH")
    budget = 120.0
    redaction_rules = REDACTION_RULES

    def specs(self, ctx: Context) -> list[Spec]:
        layout = discover(ctx)
        specs: list[Spec] = [
            FactSpec(name="layout", collect=_constant(layout.document())),
            FactSpec(name="processes", collect=domino_processes),
            GlobSpec(name="start_script_config", pattern=START_SCRIPT_CONFIGS),
        ]
        if layout.install_path:
            specs.append(FileSpec(name="install_dat", path=f"{layout.install_path}/.install.dat"))
        for server in layout.servers:
            specs += server_specs(server)
        return specs

    def snapshot_specs(self, ctx: Context) -> list[Spec]:
        """Each server's notes.ini: the settings most often changed by hand."""
        layout = discover(ctx)
        specs: list[Spec] = [FactSpec(name="layout", collect=_constant(layout.document()))]
        specs += [notes_ini_spec(server) for server in layout.servers]
        return specs

    def facts(self, collected: Collected) -> dict[str, Any]:
        layout = collected.json("layout") or {}
        processes = collected.json("processes") or {}
        servers = [server_facts(s, collected, processes) for s in layout.get("servers", [])]
        first = servers[0] if servers else {}
        versioned = next((s for s in servers if s.get("version")), {})
        return {
            "product": versioned.get("product") or "HCL Domino",
            "version": versioned.get("version"),
            "fix_pack": versioned.get("fix_pack"),
            "interim_fix": versioned.get("interim_fix"),
            "build_level": versioned.get("build_level"),
            "version_source": versioned.get("version_source"),
            "install_rev": parse_install_dat(collected.text("install_dat") or ""),
            "install_path": layout.get("install_path"),
            "program_directory": layout.get("program_directory"),
            "server_name": first.get("server_name"),
            "data_directory": first.get("data_directory"),
            "notes_ini": first.get("notes_ini"),
            "server_tasks": first.get("server_tasks", []),
            "console_log": first.get("console_log"),
            "nsd_files": first.get("nsd_files", []),
            "servers": servers,
            "selection": layout.get("selection"),
            "not_selected": layout.get("not_selected", []),
        }

    def findings(self, bundle: BundleView) -> list[Finding]:
        found = [end_of_support_finding(bundle, self.name)]
        found += servers_not_running(bundle) + nsd_reports(bundle)
        return [finding for finding in found if finding is not None]


def server_facts(
    entry: Mapping[str, Any], collected: Collected, processes: Mapping[str, Any]
) -> dict[str, Any]:
    key = entry.get("key", "")
    ini = notes_ini_facts(parse_notes_ini(collected.text(f"{key}_notes_ini") or ""))
    release = release_from_evidence(collected.json(f"{key}_release") or [])
    data_dir = entry.get("data_directory", "")
    return {
        "server_name": ini["server_name"],
        "domain": ini["domain"],
        "data_directory": ini["data_directory"] or data_dir,
        "notes_ini": entry.get("notes_ini"),
        "server_id_file": ini["server_id_file"],
        "kit_type": ini["kit_type"],
        "server_tasks": ini["server_tasks"],
        "nsf_buffer_pool_size_mb": ini["nsf_buffer_pool_size_mb"],
        "date_order": ini["date_order"],
        "state": server_state(data_dir, processes),
        "found_by": entry.get("found_by"),
        "diagnostic_directory": entry.get("diagnostic_directory"),
        "console_log": entry.get("console_log"),
        "nsd_files": entry.get("nsd_files", []),
        "product": release.get("product"),
        "version": release.get("version"),
        "fix_pack": release.get("fix_pack"),
        "interim_fix": release.get("interim_fix"),
        "build_level": release.get("build_level"),
        "version_source": release.get("version_source"),
    }


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
