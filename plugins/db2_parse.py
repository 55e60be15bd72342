"""db2 parsers: the db2diag.log / <instance>.nfy log format and the pure parsers
of what the db2 plugin collects (command outputs, config files, /etc/passwd, df).

Kept apart from plugins/db2.py so the plugin module stays one screen: what to
collect and how facts are assembled. Everything here is text (or bytes) in, plain
data out: no host access, so each parser is tested and fuzzed on canned output.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

from collector.logwindow import LogFormat, Record, aware, iter_records

# --- the db2diag.log / <instance>.nfy record format --------------------------------

# `2025-09-01-04.01.42.935663+000 I465616E393   LEVEL: Warning` (zone in minutes), or
# the pre-9.5 form without zone: `2006-02-15-19.33.37.630000   Instance:DB2  Node:000`.
DB2DIAG_HEADER = re.compile(
    rb"^(?P<stamp>\d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d\.\d{6})"
    rb"(?:(?P<zone>[+-]\d{1,4})[ \t]+(?P<record>[A-Z][0-9A-Z]+)"
    rb"(?:[ \t]+LEVEL:[ \t]*(?P<level>\w+))?"
    rb"|[ \t]+Instance:)"
)
_ADM = re.compile(r"\b(ADM\d{4,5}[A-Z])\b")
_RETURN_CODE = re.compile(r"\b(?:ZRC|ECF)=0x[0-9A-Fa-f]+=-?\d+=(\w+)")
_SQL_OR_DIA = re.compile(r"\b((?:SQL|DIA)\d{4,5}[A-Z])\b")
_ADM_LINE = re.compile(r"^(ADM\d{4,5}[A-Z])\b", re.MULTILINE)


def db2diag_time(stamp: str, zone: str | None) -> datetime | None:
    """A db2diag header time; the zone is an offset in minutes (`+120`, `-300`)."""
    try:
        moment = datetime.strptime(stamp, "%Y-%m-%d-%H.%M.%S.%f")
        if zone is None:
            return aware(moment)
        return moment.replace(tzinfo=timezone(timedelta(minutes=int(zone))))
    except ValueError:
        return None  # a corrupt header: still a record boundary, without a time


def db2diag_message_id(text: str) -> str | None:
    """ADM code, else the ZRC/ECF name, else an SQL/DIA code, from the MESSAGE
    line; then the RETCODE line; then an ADM code starting a line (old form)."""
    for key in ("MESSAGE", "RETCODE"):
        line = re.search(rf"^{key}\s*:(.*)$", text, re.MULTILINE)
        if line is None:
            continue
        for pattern in (_ADM, _RETURN_CODE, _SQL_OR_DIA):
            found = pattern.search(line.group(1))
            if found:
                return found.group(1)
    found = _ADM_LINE.search(text)
    return found.group(1) if found else None


class Db2DiagFormat(LogFormat):
    """db2diag.log and <instance>.nfy: multi-line records, each starting with a
    time-stamped header line and running up to the next header."""

    name = "db2diag"
    record_start = DB2DIAG_HEADER

    def timestamp(self, header: re.Match[bytes], stream: BinaryIO, offset: int) -> datetime | None:
        zone = header.group("zone")
        return db2diag_time(header.group("stamp").decode(), zone.decode() if zone else None)

    def parse(self, offset: int, raw: bytes, timestamp: datetime | None) -> Record:
        # surrogateescape: a record in the instance's code page round-trips byte for byte.
        text = raw.decode("utf-8", errors="surrogateescape").rstrip("\n")
        header = DB2DIAG_HEADER.match(raw)
        level = header.group("level") if header and header.group("level") else None
        return Record(
            offset,
            timestamp,
            level.decode() if level else None,
            db2diag_message_id(text),
            text,
        )


def parse_db2diag(data: bytes) -> list[Record]:
    """All records of a db2diag/nfy text held in memory (files: iter_records)."""
    return list(iter_records(io.BytesIO(data), Db2DiagFormat()))


# --- command output parsers (pure: text in, dicts out) -----------------------------


def _flat(text: str) -> str:
    return " ".join(text.split())


def parse_db2level(text: str) -> dict[str, Any]:
    """`db2level` (DB21085I, wrapped over several lines since 10.5)."""
    flat = _flat(text)
    info: dict[str, Any] = {}
    patterns = {
        "instance": r'instance name, where applicable: "([^"]*)"',
        "bits": r'uses "(\d+)" bits',
        "code_release": r'code release "([^"]+)"',
        "level_identifier": r'level identifier "([^"]+)"',
        "fix_pack": r'Fix Pack "([^"]*)"',
        "install_path": r'Product is installed at "([^"]+)"',
    }
    for key, pattern in patterns.items():
        found = re.search(pattern, flat)
        if found:
            info[key] = found.group(1)
    tokens = re.search(r"Informational tokens are ((?:\"[^\"]*\",?\s*)+)", flat)
    if tokens:
        values = re.findall(r'"([^"]*)"', tokens.group(1))
        info["tokens"] = values
        version = re.search(r"v(\d+(?:\.\d+){1,3})", values[0]) if values else None
        if version:
            info["version"] = version.group(1)
        if len(values) > 1:
            info["build_level"] = values[1]
            if values[1].lower().startswith("special_"):
                info["special_build"] = values[1]
        if len(values) > 2:
            info["build_id"] = values[2]
    return info


def parse_db2licm(text: str) -> list[dict[str, Any]]:
    """`db2licm -l`: one block per product; values are quoted since 10.5."""
    products: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    in_features = False
    for line in text.splitlines():
        if not line.strip():
            current, in_features = None, False
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip().strip('"')
        if current is None:
            current = {"features": {}}
            products.append(current)
        if key.strip() == "Features" and not value:
            in_features = True
        elif in_features:
            current["features"][key.strip()] = value
        else:
            current[re.sub(r"\W+", "_", key.strip().lower()).strip("_")] = value
    return products


def parse_db2ls(text: str) -> list[dict[str, str]]:
    """`db2ls -a -c`: PATH:VRMF:FIXPACK:SPECIAL:INSTALLTIME:INSTALLERUID lines
    (the install time itself contains colons)."""
    installs = []
    for line in text.splitlines():
        if not line.startswith("/"):
            continue
        head = line.split(":", 4)
        if len(head) < 5:
            continue
        when, _, uid = head[4].rpartition(":")
        path, vrmf, fix_pack, special = (part.strip() for part in head[:4])
        installs.append(
            {
                "path": path,
                "version": vrmf,
                "fix_pack": fix_pack,
                "special_build": special,
                "install_time": when.strip(),
                "installer_uid": uid.strip(),
            }
        )
    return installs


def parse_db2ilist(text: str) -> list[str]:
    """`db2ilist`: one instance name per line (at most 8 characters)."""
    return [line.strip() for line in text.splitlines() if re.fullmatch(r"\w{1,8}", line.strip())]


_CFG_LINE = re.compile(
    r"^\s*(?P<name>[^=]*?)\s*(?:\((?P<param>[A-Za-z_][A-Za-z0-9_]*)\))?\s*=\s?(?P<value>.*)$"
)


def parse_cfg(text: str) -> dict[str, str]:
    """`db2 get dbm cfg` / `db2 get db cfg for X`: `name (PARAM) = value` lines,
    as {PARAM or name: value}."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        found = _CFG_LINE.match(line)
        if found is None or not (found.group("param") or found.group("name")):
            continue
        key = found.group("param") or found.group("name")
        values.setdefault(key, found.group("value").rstrip())
    return values


def parse_db_directory(text: str) -> list[dict[str, str]]:
    """`db2 list db directory`: one {name: value} dict per `Database N entry:`."""
    entries: list[dict[str, str]] = []
    for line in text.splitlines():
        if re.match(r"^\s*Database \d+ entry:", line):
            entries.append({})
        elif entries and "=" in line:
            key, _, value = line.partition("=")
            entries[-1][key.strip()] = value.strip()
    return entries


def is_local(entry: Mapping[str, str]) -> bool:
    """A database of this instance (system directory entry type Indirect)."""
    return entry.get("Directory entry type", "").lower() == "indirect"


_BANNER = re.compile(
    r"^Database (?:Member|Partition) (?P<member>\d+) -- "
    r"(?:Database (?P<database>\S+) -- )?(?P<state>[^-\n]+?) -- Up (?P<uptime>.+?)"
    r" -- Date (?P<date>\S+)",
    re.MULTILINE,
)


def parse_db2pd_banner(text: str) -> dict[str, str] | None:
    """The `Database Member 0 -- [Database X --] Active -- Up ... -- Date ...` line."""
    found = _BANNER.search(text)
    if found is None:
        return None
    return {k: v for k, v in found.groupdict().items() if v is not None}


def db2pd_state(text: str | None) -> str:
    """active (with the state word db2pd prints), stopped/inactive, or unknown."""
    if text is None:
        return "unknown"
    banner = parse_db2pd_banner(text)
    if banner:
        return banner["state"].strip().lower()
    if "Unable to attach" in text:
        return "stopped"
    if "not activated" in text:
        return "inactive"
    return "unknown"


def parse_db2pd_pairs(text: str) -> dict[str, str]:
    """`db2pd -hadr -db X`: `KEY = value` pairs (the first standby's, when there
    are several)."""
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        found = re.match(r"^\s*([A-Z][\w,()]*)\s+=\s?(.*)$", line)
        if found:
            pairs.setdefault(found.group(1), found.group(2).strip())
    return pairs


def parse_db2pd_logs(text: str) -> dict[str, Any]:
    """`db2pd -logs -db X`: the `Name   value` block and the log file table."""
    result: dict[str, Any] = {"log_files": []}
    in_table = False
    for line in text.splitlines():
        if line.startswith("Address") and "Filename" in line:
            in_table = True
            continue
        fields = line.split()
        if in_table and len(fields) == 7 and fields[0].startswith("0x"):
            names = ("address", "start_lsn", "start_lso", "state", "size", "pages", "filename")
            result["log_files"].append(dict(zip(names, fields, strict=True)))
            continue
        pair = re.match(r"^(\S.*?)\s{2,}(\S.*?)\s*$", line)
        if pair and not in_table:
            result.setdefault(pair.group(1), pair.group(2))
    return result


def parse_db2pd_osinfo(text: str) -> dict[str, Any]:
    """`db2pd -osinfo`: `Key: value` lines, and titled tables (a header row of
    names over a row of values) as {title: {name: value}}."""
    result: dict[str, Any] = {}
    lines = [line.rstrip() for line in text.splitlines()]
    for number, line in enumerate(lines):
        pair = re.match(r"^(\w[\w ()]*?):\s+(\S.*)$", line)
        if pair:
            result[pair.group(1)] = pair.group(2)
        elif line.endswith(":") and number + 2 < len(lines):
            names, values = lines[number + 1].split(), lines[number + 2].split()
            if names and len(names) == len(values):
                result[line[:-1]] = dict(zip(names, values, strict=True))
    return result


def parse_db2set(text: str) -> list[dict[str, str]]:
    """`db2set -all`: `[i] NAME=value` (scope e: environment, i: instance,
    g: global, n: node)."""
    found = re.findall(r"^\s*\[(\w)\]\s+([^=\s]+)=(.*)$", text, re.MULTILINE)
    return [{"scope": scope, "name": name, "value": value.strip()} for scope, name, value in found]


def parse_db2nodes(text: str) -> list[dict[str, str]]:
    """sqllib/db2nodes.cfg: `member host logical-port [netname]` per line."""
    members = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdecimal():
            member = {"member": fields[0], "host": fields[1]}
            if len(fields) > 2:
                member["logical_port"] = fields[2]
            if len(fields) > 3:
                member["netname"] = fields[3]
            members.append(member)
    return members


def resolve_diagpath(dbm: Mapping[str, str], home: str | None) -> dict[str, str | None]:
    """Where db2diag.log is: Db2's own resolution for this member when the dbm
    cfg prints it; else DIAGPATH, unless it is empty or starts with a $-variable
    (Db2 then writes to ~owner/sqllib/db2dump, its default)."""
    configured = dbm.get("DIAGPATH", "").strip()
    member = dbm.get("Current member resolved DIAGPATH", "").strip()
    default = f"{home}/sqllib/db2dump" if home else None
    resolved: str | None
    if member:
        resolved, source = member, "Current member resolved DIAGPATH"
    elif configured and not configured.startswith("$"):
        # `/path/ $m`: a split path; its fixed part holds the member folders.
        resolved, source = configured.split("$", 1)[0].strip(), "DIAGPATH"
    else:
        resolved, source = default, "default ~owner/sqllib/db2dump"
    return {
        "configured": configured or None,
        "member_resolved": member or None,
        "resolved": (resolved.rstrip("/") or "/") if resolved else None,
        "source": source if resolved else None,
    }


def parse_passwd(text: str) -> dict[str, tuple[int, str]]:
    """/etc/passwd as {user: (uid, home)}."""
    users = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[2].isdecimal():
            users[fields[0]] = (int(fields[2]), fields[5])
    return users


def parse_df(text: str) -> dict[str, int]:
    """`df -kP`: {mount point: percent used}."""
    usage = {}
    for line in text.splitlines()[1:]:
        fields = line.split(None, 5)
        # ASCII digits only: isdigit() also accepts '²', which int() refuses.
        if len(fields) == 6 and re.fullmatch(r"[0-9]{1,3}%", fields[4]):
            usage[fields[5]] = int(fields[4][:-1])
    return usage
