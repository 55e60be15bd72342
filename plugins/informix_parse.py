"""Parsers for what the informix plugin collects, and its message-log format.

Pure functions of text (no host, no bundle): the onstat views (banner, -version,
-V, -m, -c, -d, -l, -g dri, -g rss), ONCONFIG and sqlhosts files, the version
level string, and OnlineLog, the LogFormat that dates and levels the records of
the message log (online.log). Kept apart from plugins/informix.py so that module
stays the plugin itself (what to collect, facts, findings) and reads in one
screen; these parsers are tested and fuzzed on their own.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, BinaryIO

from collector.logwindow import LogFormat, Record, aware

# --- parsers: onstat ----------------------------------------------------------

_BANNER = re.compile(
    r"^(?P<product>\S.*?)\s+Version\s+(?P<version>\S+)\s+--\s+(?P<rest>.*?)\s*$", re.MULTILINE
)
_UPTIME = re.compile(r"^Up\s+(?:(?P<days>\d+)\s+days?\s+)?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)$")
_MARKS = re.compile(r"\s*\(([^)]*)\)")
_TYPE_MARKS = {"prim": "Prim", "sec": "Sec", "rss": "RSS", "sds": "SDS"}
_OFFLINE = re.compile(r"shared memory not initialized for INFORMIXSERVER '([^']*)'")


def _kbytes(field: str | None) -> int | None:
    """`208392 Kbytes` -> 208392; None for anything else."""
    number = field.split()[0] if field else ""
    return int(number) if re.fullmatch(r"[0-9]+", number) else None


def parse_banner(text: str) -> dict[str, Any] | None:
    """The header every onstat output starts with:
    `IBM Informix Dynamic Server Version 14.10.FC4W1AEE -- On-Line -- Up 01:13:37 --
    208392 Kbytes`, with (Prim)/(Sec)/(RSS)/(SDS) and (CKPT REQ)/(CKPT INP) marks
    after the mode and `Blocked:` reasons on the next line."""
    match = _BANNER.search(text)
    if match is None:
        return None
    parts = re.split(r"\s+--\s+", match.group("rest"))
    mode = parts[0]
    marks = _MARKS.findall(mode)
    type_mark = next((_TYPE_MARKS[m.lower()] for m in marks if m.lower() in _TYPE_MARKS), None)
    flags = [m for m in marks if m.lower() not in _TYPE_MARKS]
    state = _MARKS.sub("", mode).strip() + (f" ({type_mark})" if type_mark else "")
    uptime = next((p for p in parts[1:] if p.startswith("Up")), None)
    memory = next((p for p in parts[1:] if p.endswith("Kbytes")), None)
    after = text[match.end() :].lstrip("\r\n").splitlines()[:1]
    blocked = (
        after[0].strip()[len("Blocked:") :] if after and after[0].startswith("Blocked:") else ""
    )
    return {
        "product": match.group("product").strip(),
        "version": match.group("version"),
        "state": state,
        "type_mark": type_mark,
        "flags": flags,
        "uptime": uptime[len("Up") :].strip() if uptime else None,
        "uptime_seconds": uptime_seconds(uptime) if uptime else None,
        "shared_memory_kb": _kbytes(memory),
        "blocked": [b for b in blocked.split(",") if b],
    }


def uptime_seconds(text: str) -> int | None:
    match = _UPTIME.match(text.strip())
    if match is None:
        return None
    days = int(match.group("days") or 0)
    return ((days * 24 + int(match.group("h"))) * 60 + int(match.group("m"))) * 60 + int(
        match.group("s")
    )


def parse_offline(text: str) -> str | None:
    """The server named by `shared memory not initialized for INFORMIXSERVER 'x'`
    (onstat's answer when the server is off-line), else None."""
    match = _OFFLINE.search(text)
    return match.group(1) if match else None


_LEVEL = re.compile(
    r"^(?P<release>\d+\.\d+)\.(?P<level>(?P<fix_pack>[A-Za-z][A-Za-z]\d+)"
    r"(?P<interim>[A-Z]\d+)?(?P<edition>[A-Z]+)?)$"
)


def parse_level(version: str | None) -> dict[str, str | None]:
    """14.10.FC4W1AEE: release 14.10, fix pack FC4, interim fix W1, edition AEE,
    level FC4W1AEE (the whole part after the release)."""
    match = _LEVEL.match(version or "")
    if match is None:
        return {}
    return {key: match.group(key) for key in ("release", "level", "fix_pack", "interim", "edition")}


def _key_values(text: str) -> dict[str, str]:
    """`Key: value` lines (onstat -version, -g rss), keys as written."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip():
            found.setdefault(key.strip(), value.strip())
    return found


def parse_onstat_version(text: str) -> dict[str, str | None]:
    """onstat -version: Program, Build Version, Build Host, Build OS, Build Number,
    Build Date, GLS Version."""
    pairs = _key_values(text)
    return {
        "program": pairs.get("Program") or pairs.get("Program Name"),
        "build_version": pairs.get("Build Version"),
        "build_number": pairs.get("Build Number"),
        "build_os": pairs.get("Build OS"),
        "build_date": pairs.get("Build Date"),
        "gls_version": pairs.get("GLS Version"),
    }


_SERIAL = re.compile(
    r"^(?P<product>\S.*?)\s+Version\s+(?P<version>\S+)\s+Software Serial Number\s+(?P<serial>\S+)",
    re.MULTILINE,
)


def parse_onstat_v(text: str) -> dict[str, str]:
    """onstat -V: `IBM Informix Dynamic Server Version 12.10.UC7X3 Software Serial
    Number AAA#B000000`."""
    match = _SERIAL.search(text)
    if match is None:
        return {}
    return {
        "product": match.group("product"),
        "version": match.group("version"),
        "serial_number": match.group("serial"),
    }


def _after(text: str, label: str) -> tuple[str | None, str]:
    """The value of a `Label: value` line and the text after that line."""
    match = re.search(rf"^{re.escape(label)}:[ \t]*(.*?)[ \t]*$", text, re.MULTILINE)
    if match is None:
        return None, ""
    return match.group(1) or None, text[match.end() :]


def parse_onstat_m(text: str) -> dict[str, Any]:
    """onstat -m: the banner, the message log's path and its last lines."""
    path, rest = _after(text, "Message Log File")
    lines = [line.rstrip() for line in rest.splitlines() if line.strip()]
    return {
        "banner": parse_banner(text),
        "offline_server": parse_offline(text),
        "message_log": path,
        "lines": lines,
        "time_lines": sum(1 for line in lines if _TIME_LINE.match(line)),
    }


def parse_onstat_c(text: str) -> dict[str, Any]:
    """onstat -c: the banner, the configuration file's path and its parameters."""
    path, rest = _after(text, "Configuration File")
    return {"banner": parse_banner(text), "config_file": path, "params": parse_onconfig(rest)}


_PARAM = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)(?:[ \t]+(?P<value>.*?))?[ \t]*$")
_COMMENT = re.compile(r"(?:^|[ \t])#.*$")


def parse_onconfig(text: str) -> dict[str, list[str]]:
    """ONCONFIG parameters: NAME value lines, # comments. Several occurrences of a
    name (VPCLASS, BUFFERPOOL) keep every value, in order."""
    params: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _PARAM.match(_COMMENT.sub("", line))
        if match:
            params.setdefault(match.group("name"), []).append(match.group("value") or "")
    return params


def last_value(params: Mapping[str, list[str]], name: str) -> str | None:
    """A single-valued parameter: the server uses its last occurrence."""
    values = params.get(name)
    return values[-1] if values else None


def parse_sqlhosts(text: str) -> list[dict[str, str]]:
    """sqlhosts entries: dbservername nettype hostname servicename [options]."""
    entries = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 4:
            entries.append(
                {
                    "name": fields[0],
                    "protocol": fields[1],
                    "host": fields[2],
                    "service": fields[3],
                    "options": " ".join(fields[4:]),
                }
            )
    return entries


_SUMMARY = re.compile(r"^\s*(\d+) active, (\d+) (?:maximum|total)\s*$")
_DBSPACE = re.compile(
    r"^(?P<address>[0-9a-fA-F]+)\s+(?P<number>\d+)\s+(?P<flags>0x[0-9a-fA-F]+)\s+"
    r"(?P<fchunk>\d+)\s+(?P<nchunks>\d+)\s+(?:(?P<pgsize>\d+)\s+)?(?P<status>[A-Z][A-Z ]*?)\s+"
    r"(?P<owner>\S+)\s+(?P<name>\S+)$"
)
_CHUNK = re.compile(
    r"^(?P<address>[0-9a-fA-F]+)\s+(?P<chunk>\d+)\s+(?P<dbs>\d+)\s+(?P<offset>\d+)\s+"
    r"(?P<size>\d+)\s+~?(?P<free>\d+)\s+(?:(?P<bpages>\d+)\s+)?(?P<flags>[A-Z-]{4,})\s+"
    r"(?P<path>\S.*)$"
)


def dbspace_kind(flags: int) -> str:
    """From the hexadecimal flags of onstat -d (0x10 blobspace, 0x2000 temporary,
    0x8000 sbspace, 0x1000000 plogspace)."""
    if flags & 0x8000:
        return "temporary sbspace" if flags & 0x2000 else "sbspace"
    if flags & 0x2000:
        return "temporary dbspace"
    if flags & 0x10:
        return "blobspace"
    if flags & 0x1000000:
        return "plogspace"
    return "dbspace"


def parse_onstat_d(text: str) -> dict[str, Any]:
    """onstat -d: dbspaces and chunks, with the `N active, M maximum` counts."""
    found: dict[str, Any] = {"banner": parse_banner(text), "dbspaces": [], "chunks": []}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if line in ("Dbspaces", "Chunks"):
            section = line.lower()
            continue
        summary = _SUMMARY.match(line)
        if summary and section:
            found[f"{section}_active"] = int(summary.group(1))
            found[f"{section}_maximum"] = int(summary.group(2))
            section = None
        elif section == "dbspaces" and (space := _DBSPACE.match(line)):
            found["dbspaces"].append(
                {
                    "number": int(space.group("number")),
                    "name": space.group("name"),
                    "flags": space.group("flags"),
                    "kind": dbspace_kind(int(space.group("flags"), 16)),
                    "status": space.group("status"),
                    "chunks": int(space.group("nchunks")),
                    "page_size": int(space.group("pgsize")) if space.group("pgsize") else None,
                    "owner": space.group("owner"),
                }
            )
        elif section == "chunks" and (chunk := _CHUNK.match(line)):
            found["chunks"].append(
                {
                    "chunk": int(chunk.group("chunk")),
                    "dbspace": int(chunk.group("dbs")),
                    "size": int(chunk.group("size")),
                    "free": int(chunk.group("free")),
                    "flags": chunk.group("flags"),
                    "path": chunk.group("path"),
                }
            )
    found.setdefault("dbspaces_active", len(found["dbspaces"]))
    found.setdefault("chunks_active", len(found["chunks"]))
    return found


_LOGFILE = re.compile(
    r"^(?P<address>[0-9a-fA-F]+)\s+(?P<number>\d+)\s+(?P<flags>[A-Z-]{6,})\s+(?P<uniqid>\d+)\s+"
    r"(?P<begin>\S+)\s+(?P<size>\d+)\s+(?P<used>\d+)\s+(?P<percent>[\d.]+)$"
)


def _table_row(lines: list[str], header_word: str) -> dict[str, str]:
    """The values under the first column-header line that contains `header_word`."""
    for index, line in enumerate(lines[:-1]):
        names = line.split()
        if header_word in names:
            return dict(zip(names, lines[index + 1].split(), strict=False))
    return {}


def parse_onstat_l(text: str) -> dict[str, Any]:
    """onstat -l: physical log, logical-log buffer and the logical-log files."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    logical_at = next((i for i, line in enumerate(lines) if line == "Logical Logging"), len(lines))
    logs = []
    summary = None
    for line in lines:
        if match := _LOGFILE.match(line):
            flags = match.group("flags")
            logs.append(
                {
                    "number": int(match.group("number")),
                    "uniqid": int(match.group("uniqid")),
                    "flags": flags,
                    "used": flags[0] == "U",
                    "backed_up": flags[2] == "B",
                    "current": flags[4] == "C",
                    "size": int(match.group("size")),
                    "used_pages": int(match.group("used")),
                }
            )
        elif match := _SUMMARY.match(line):
            summary = (int(match.group(1)), int(match.group(2)))
    return {
        "banner": parse_banner(text),
        "physical_buffer": _table_row(lines[:logical_at], "bufused"),
        "physical_log": _table_row(lines[:logical_at], "phybegin"),
        "logical_buffer": _table_row(lines[logical_at:], "bufused"),
        "logs": logs,
        "logs_active": summary[0] if summary else None,
        "logs_total": summary[1] if summary else None,
    }


_DRI_ROW = re.compile(
    r"^\s+(?P<type>\S+(?: \S+)?)\s{2,}(?P<state>\S+)\s+(?:(?P<paired>[^\s\d-]\S*)\s+)?"
    r"(?P<ckpt>-?\d+\s*/\s*-?\d+)\s+(?P<proxy>\S+)\s*$"
)


# `  DRTIMEOUT     30`, `  HDR_TXN_SCOPE NEAR_SYNC`, `  Last Send     2022/03/17 11:12:53`
_DRI_SETTING = re.compile(
    r"^\s+(?P<key>[A-Z][A-Z0-9_]+(?=\s)|\S+(?: \S+)*?(?=\s{2}))\s+(?P<value>\S.*?)\s*$"
)


def parse_onstat_g_dri(text: str) -> dict[str, Any]:
    """onstat -g dri: HDR type, state, paired server and the DR settings."""
    found: dict[str, Any] = {}
    if not text.strip():
        return found
    settings: dict[str, str] = {}
    for line in text.splitlines():
        row = _DRI_ROW.match(line)
        if row and "type" not in found:
            found.update(
                type=row.group("type"),
                state=row.group("state"),
                paired_server=row.group("paired"),
                last_dr_checkpoint=re.sub(r"\s+", "", row.group("ckpt")),
            )
        elif line.strip().startswith("Last log page applied"):
            found["last_log_page_applied"] = line.partition(":")[2].strip()
        elif "type" in found and (pair := _DRI_SETTING.match(line)):
            settings[pair.group("key")] = pair.group("value")
    if found:
        found["settings"] = settings
    return found


_RSS_ROW = re.compile(
    r"^(?P<name>\S+)\s+(?P<status>\S+)\s+(?P<connection>\S+)\s+(?P<next>-?\d+,-?\d+)\s+(?P<proxy>\S+)\s*$"
)


def parse_onstat_g_rss(text: str) -> dict[str, Any]:
    """onstat -g rss: the local server type and, on a primary, each RSS server."""
    pairs = {k.lower(): v for k, v in _key_values(text).items()}
    servers = [
        {
            "name": row.group("name"),
            "status": row.group("status"),
            "connection": row.group("connection"),
            "next_log_page": row.group("next"),
        }
        for row in map(_RSS_ROW.match, text.splitlines())
        if row
    ]
    return {
        "local_server_type": pairs.get("local server type"),
        "server_status": pairs.get("server status"),
        "source_server": pairs.get("source server name"),
        "connection_status": pairs.get("connection status"),
        "rss_count": int(pairs["number of rss servers"])
        if pairs.get("number of rss servers", "").isdecimal()
        else None,
        "last_log_page_received": pairs.get("last log page received(log id,page)"),
        "servers": servers,
    }


# --- parser: the message log (online.log) -------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE_HEADER = (
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<mon>" + "|".join(_MONTHS).encode() + rb") +"
    rb"(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d) (?P<year>\d{4})[ \t]*"
)
_WEEKDAYS = tuple(f"{day} ".encode() for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
_HEADER_CANDIDATE = re.compile(rb"\n(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ")
# A date header as a whole line (its newline included), for the backward scan.
_HEADER_LINE = re.compile(rb"^" + _DATE_HEADER + rb"\r?\n", re.MULTILINE)
_TIME_LINE = re.compile(r"^(?:\d\d/\d\d/\d\d )?\d\d:\d\d:\d\d(?:[ \t]|$)")
# A time-only line is dated by the last date header before it, however far
# back (a busy server writes hundreds of MB a day): found by reading backwards,
# SCAN bytes first, each read twice the last up to SCAN * SCAN_GROWTH.
SCAN = 64 * 1024
SCAN_GROWTH = 16
# Spans remembered per file (see OnlineLog.day_header), and files remembered.
MAX_SPANS = 4096
MAX_FILES = 32
_LEVELS = (
    (re.compile(r"assert failed|\berror\b|\bfail(?:ed|ure)\b|\bfatal\b", re.I), "error"),
    (re.compile(r"assert warning|\bwarning\b", re.I), "warning"),
)
_ERROR_NUMBER = re.compile(r"\berror(?: number)?:?\s*(-\d{2,6})\b", re.I)
# What OnlineLog remembers of a file: (date header offset, its time, end).
_Span = tuple[int, datetime | None, int]


class OnlineLog(LogFormat):
    """The message log (MSGPATH): a date header line per day and at start-up,
    `Wed Mar 15 11:58:52 2022`, then `HH:MM:SS  text` lines (`MM/DD/YY HH:MM:SS`
    with MSG_DATE 1). A record is one time line plus the lines after it that do
    not start with a time; a date header is a record of its own. A time-only
    line takes its date from the nearest date header before it (the next day
    when its time is earlier than the header's: the day rolled over before a new
    header was written)."""

    name = "informix_online_log"
    record_start = re.compile(
        rb"(?P<header>" + _DATE_HEADER + rb"\r?$)"
        rb"|(?:(?P<date>\d\d/\d\d/\d\d) )?(?P<time>\d\d:\d\d:\d\d)(?=[ \t]|\r?$)"
    )

    def __init__(self) -> None:
        # Per file, what earlier lookups learnt: spans (header offset, its time,
        # end), sorted and disjoint, each saying "no date header starts after
        # the header and before end" (offset -1 and time None: none from the
        # file start). A forward walk over the records then reads each byte
        # back at most once, and window_start's probes stop reading back where
        # an earlier probe's span ends, so bisection stays logarithmic.
        self._spans: OrderedDict[tuple[int, int], list[_Span]] = OrderedDict()
        self._lock = threading.Lock()

    def timestamp(self, header: re.Match[bytes], stream: BinaryIO, offset: int) -> datetime | None:
        try:
            if header.group("header"):
                return aware(header_time(header))
            clock = time.fromisoformat(header.group("time").decode())
            if header.group("date"):
                day = datetime.strptime(header.group("date").decode(), "%m/%d/%y").date()
                return aware(datetime.combine(day, clock))
        except ValueError:
            return None
        governing = self.day_header(stream, offset)
        if governing is None:
            return None
        try:
            day = governing.date() + timedelta(days=1 if clock < governing.time() else 0)
        except OverflowError:  # past 9999-12-31: a garbage header
            return None
        return aware(datetime.combine(day, clock))

    def day_header(self, stream: BinaryIO, offset: int) -> datetime | None:
        """The time of the last date header before `offset` (a line start)."""
        key = _file_key(stream)
        below = self._span_below(key, offset) if key else None
        if below is not None and offset <= below[2]:
            return below[1]
        found = scan_back(stream, below[2] if below else 0, offset)
        span: _Span
        if found is not None:
            span = (found[0], found[1], offset)
        elif below is not None:
            span = (below[0], below[1], offset)  # the same header, known to reach further
        else:
            span = (-1, None, offset)  # no header from the file start
        if key:
            self._remember(key, span)
        return span[1]

    def _span_below(self, key: tuple[int, int], offset: int) -> _Span | None:
        """The remembered span of the last header (or none) before `offset`."""
        with self._lock:
            spans = self._spans.get(key, [])
            index = bisect.bisect_left(spans, offset, key=_span_start)
            return spans[index - 1] if index else None

    def _remember(self, key: tuple[int, int], span: _Span) -> None:
        with self._lock:
            spans = self._spans.setdefault(key, [])
            self._spans.move_to_end(key)
            index = bisect.bisect_left(spans, span[0], key=_span_start)
            if index < len(spans) and spans[index][0] == span[0]:
                if span[2] > spans[index][2]:  # the same header, known further on
                    spans[index] = span
            else:
                spans.insert(index, span)
                if len(spans) > MAX_SPANS:
                    del spans[0 if index else -1]  # a cache: any span may go
            while len(self._spans) > MAX_FILES:
                self._spans.popitem(last=False)

    def parse(self, offset: int, raw: bytes, timestamp: datetime | None) -> Record:
        text = decode(raw).rstrip("\r\n")
        level = None
        if _TIME_LINE.match(text):
            level = next((name for pattern, name in _LEVELS if pattern.search(text)), "info")
        number = _ERROR_NUMBER.search(text)
        return Record(offset, timestamp, level, number.group(1) if number else None, text)


def header_time(match: re.Match[bytes]) -> datetime:
    month = _MONTHS.index(match.group("mon").decode()) + 1
    clock = time.fromisoformat(match.group("hms").decode())
    day = date(int(match.group("year")), month, int(match.group("day")))
    return datetime.combine(day, clock)


def scan_back(stream: BinaryIO, floor: int, offset: int) -> tuple[int, datetime] | None:
    """(offset, time) of the last date-header line that starts in [floor, offset),
    reading backwards in blocks; `offset` is a line start."""
    end, step = offset, SCAN
    while end > floor:
        start = max(floor, end - step)
        step = min(2 * step, SCAN * SCAN_GROWTH)
        lead = 1 if start > 0 else 0  # the byte before: is `start` a line start?
        stream.seek(start - lead)
        data = stream.read(end - start + lead)
        block = data[lead:]
        first = 0
        if lead and data[:1] != b"\n":
            # The block starts inside a line: read that line whole with the next
            # block, unless it is longer than a block (then it is no header).
            cut = block.find(b"\n")
            first = len(block) if cut == -1 else cut + 1
        for match in headers_backwards(block, first):
            try:
                return start + match.start(), header_time(match)
            except ValueError:
                continue  # not a real date (Feb 30): not a header
        if start == floor:
            return None
        end = start + first if first < len(block) else start
    return None


def headers_backwards(block: bytes, first: int) -> Iterator[re.Match[bytes]]:
    """The date-header lines of block[first:] (`first` a line start), the last
    first. Candidates are a newline then a weekday, a search the regex engine
    runs from its literal first byte (about 0.5 ms/MB); each is confirmed by the
    full header pattern. Running that pattern at every line start instead cost
    ~10 ms a probe on a busy log, and window_start makes ~20 probes."""
    starts = [m.start() + 1 for m in _HEADER_CANDIDATE.finditer(block, max(first - 1, 0))]
    if block.startswith(_WEEKDAYS, first) and first not in starts:
        starts.insert(0, first)
    for start in reversed(starts):
        match = _HEADER_LINE.match(block, start)
        if match is not None:
            yield match


def _span_start(span: _Span) -> int:
    return span[0]


def _file_key(stream: BinaryIO) -> tuple[int, int] | None:
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None  # not a real file (tests' BytesIO): no cache
    return status.st_dev, status.st_ino


def decode(raw: bytes) -> str:
    """UTF-8, else Latin-1: every byte survives (the server's code set may be any)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
