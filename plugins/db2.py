"""db2: IBM Db2 for Linux, UNIX and Windows (LUW), the server side.

Collects what Db2 support asks for in stage two: the level (`db2level`), the
installed copies (`db2ls`), the license (`db2licm -l`), the instances
(`db2ilist`), the registry (`db2set -all`), the database manager and database
configuration, the database directory, `db2pd` operating-system, HADR and log
state, `db2nodes.cfg`, the CLI/ODBC client configuration (`db2cli.ini`,
`db2dsdriver.cfg`), the `db2diag` and administration notification logs under
the resolved DIAGPATH (cut to the time window), and a listing (names, sizes,
times; no contents) of the FODC folders and trap/dump files.

Safe to send: every command is a read-only query, run as the instance owner
(`su - owner`) when pa-collect runs as root, so nothing runs with more rights
than Db2's own tools have. Config files and outputs pass the central redactor,
which masks the password attributes of `db2dsdriver.cfg` and `PWD=` in
`db2cli.ini`; this plugin adds a rule for `(..._PASSWORD) = value` lines of the
configuration outputs. Keystores (the native-encryption keystore and the SSL
server key database named in the dbm cfg, with their stash files) are only ever
named, never read: the core's secret-file denylist refuses them, and a keystore
the denylist would not recognise is not even named.
"""

from __future__ import annotations

import fnmatch
import glob
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, BinaryIO

from collector.findings import BundleView, Finding, recent_records
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.logwindow import LogFormat, Record, aware, iter_records
from collector.plugin import Applicability, Collected, Context, Plugin
from collector.redact import MASK, Rule, secret_file_reason
from collector.spec import CommandSpec, FactSpec, FileSpec, LogSpec, Spec, slug

# Bounds on hosts with many instances or databases.
MAX_INSTANCES = 10
MAX_DATABASES = 10
INSTALL_GLOBS = ("/opt/ibm/db2/V*", "/opt/IBM/db2/V*")
INSTANCE_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("db2level",),
    ("db2licm", "-l"),
    ("db2set", "-all"),
    ("db2", "get", "dbm", "cfg"),
    ("db2", "list", "db", "directory"),
    ("db2pd", "-osinfo"),
)
# A snapshot's quick status: the level, `db2pd -` (is the instance up, since
# when), the dbm cfg and the database directory that name the second round.
SNAPSHOT_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("db2level",),
    ("db2pd", "-"),
    ("db2", "get", "dbm", "cfg"),
    ("db2", "list", "db", "directory"),
)
SNAPSHOT_DIAG_LOGS = 2  # the current db2diag.log and the one rotated before it
SQLLIB_FILES = ("db2nodes.cfg", "cfg/db2cli.ini", "cfg/db2dsdriver.cfg")
# The files that hold the keys of a keystore or SSL key database, as dbm cfg names them.
KEYSTORE_PARAMS = ("KEYSTORE_LOCATION", "SSL_SVR_KEYDB", "SSL_SVR_STASH")
DUMP_PATTERNS = ("*.trap*", "*.dump*", "*.stack.txt")
MAX_LISTED = 200  # newest FODC folders / dump files listed, and file names per folder
MAX_WALKED = 10_000  # files counted per FODC folder
DB_CFG_FACTS = (
    "Database release level",
    "Database code set",
    "Database page size",
    "HADR database role",
    "Path to log files",
    "First active log file",
    "LOGFILSIZ",
    "LOGPRIMARY",
    "LOGSECOND",
    "LOGARCHMETH1",
    "LOGARCHMETH2",
    "HADR_SYNCMODE",
    "SELF_TUNING_MEM",
    "LOCKTIMEOUT",
)
DBM_CFG_FACTS = {
    "node_type": "Node type",
    "release_level": "Database manager configuration release level",
    "svcename": "SVCENAME",
    "diaglevel": "DIAGLEVEL",
    "notifylevel": "NOTIFYLEVEL",
    "diagsize_mb": "DIAGSIZE",
    "code_level": "CUR_EFF_CODE_LVL",
    "keystore_type": "KEYSTORE_TYPE",
    "keystore_location": "KEYSTORE_LOCATION",
}


def _mask_cfg_secret(match: re.Match[bytes]) -> bytes:
    return match.group("lead") + MASK


# `TSM password (TSM_PASSWORD) = x`: the (PARAM) keyword sits between the name and
# the `=`, so the baseline `key = value` rules do not see it.
CFG_SECRET_RULE = Rule(
    "db2_cfg_password",
    re.compile(
        rb"(?P<lead>\((?P<key>\w*(?:passw(?:or)?d|pwd)\w*)\)[^\S\n]*=[^\S\n]*)"
        rb"(?P<val>(?!\*{8})\S(?:[^\n]*\S)?)",
        re.IGNORECASE,
    ),
    _mask_cfg_secret,
    (b"pass", b"pwd"),
)


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


# --- what is on this host ----------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    name: str
    owner: str
    home: str | None
    found_by: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "home": self.home,
            "found_by": list(self.found_by),
        }


def parse_passwd(text: str) -> dict[str, tuple[int, str]]:
    """/etc/passwd as {user: (uid, home)}."""
    users = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[2].isdecimal():
            users[fields[0]] = (int(fields[2]), fields[5])
    return users


def find_instances(ctx: Context) -> list[Instance]:
    """Instances from the host: users whose home holds an sqllib folder (the
    instance home), $DB2INSTANCE, or the --instance the user chose. The binary
    global registry is not read."""
    users = parse_passwd(ctx.read_text("/etc/passwd") or "")
    found: dict[str, list[str]] = {}
    for user, (_, user_home) in sorted(users.items()):
        if user_home not in ("", "/") and ctx.host.path(f"{user_home}/sqllib").is_dir():
            found.setdefault(user, []).append("instance home")
    from_env = ctx.host.env.get("DB2INSTANCE")
    if from_env:
        found.setdefault(from_env, []).append("$DB2INSTANCE")
    chosen = ctx.selection.get("instance")
    names = [chosen] if chosen else sorted(found)[:MAX_INSTANCES]
    instances = []
    for name in names:
        home = users[name][1] if name in users else None
        by = found.get(name) or ["--instance"]
        instances.append(Instance(name, _owner(ctx.host, users, name, home), home, tuple(by)))
    return instances


def _owner(host: Host, users: Mapping[str, tuple[int, str]], name: str, home: str | None) -> str:
    """The owner of ~/sqllib; else the instance name (by Db2 convention the
    owner's user name). Root never owns an instance."""
    if home:
        try:
            uid = host.path(f"{home}/sqllib").stat().st_uid
        except OSError:
            uid = -1
        owners = [user for user, (user_uid, _) in users.items() if user_uid == uid]
        if owners and uid != 0:
            return name if name in owners else owners[0]
    return name


def _host_glob(host: Host, pattern: str) -> list[str]:
    root = str(host.sysroot).rstrip("/")
    return sorted(match[len(root) :] for match in glob.glob(root + pattern))


# --- the FODC / trap / dump listing (names and sizes, never contents) ---------------


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_dump(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in DUMP_PATTERNS)


def _folder_summary(path: str, name: str) -> dict[str, Any]:
    files: list[str] = []
    count = size = 0
    for folder, subfolders, names in os.walk(path):
        subfolders.sort()  # a stable listing: the same folder gives the same names
        for each in sorted(names):
            if count >= MAX_WALKED:
                break
            try:
                size += os.lstat(os.path.join(folder, each)).st_size
            except OSError:
                continue
            count += 1
            if len(files) < MAX_LISTED:
                files.append(os.path.relpath(os.path.join(folder, each), path))
    return {
        "name": name,
        "mtime": _stamp(os.lstat(path).st_mtime),
        "files": count,
        "bytes": size,
        "names": sorted(files),
    }


def _newest(entries: list[os.DirEntry[str]]) -> list[os.DirEntry[str]]:
    """The MAX_LISTED most recently modified, by name."""
    by_time = sorted(entries, key=lambda e: e.stat(follow_symlinks=False).st_mtime)
    return sorted(by_time[-MAX_LISTED:], key=lambda e: e.name)


def list_dumps(diagpath: str, host: Host) -> dict[str, Any]:
    """The newest FODC_* folders and trap/dump files directly under the DIAGPATH."""
    listing: dict[str, Any] = {"diagpath": diagpath, "fodc": [], "dumps": []}
    try:
        with os.scandir(host.path(diagpath)) as scan:
            entries = list(scan)
    except OSError as error:
        listing["error"] = error.strerror or str(error)
        return listing
    folders = [e for e in entries if e.name.startswith("FODC_") and e.is_dir(follow_symlinks=False)]
    dumps = [e for e in entries if _is_dump(e.name) and e.is_file(follow_symlinks=False)]
    for entry in _newest(folders):
        listing["fodc"].append(_folder_summary(entry.path, entry.name))
    for entry in _newest(dumps):
        status = entry.stat(follow_symlinks=False)
        listing["dumps"].append(
            {"name": entry.name, "bytes": status.st_size, "mtime": _stamp(status.st_mtime)}
        )
    return listing


# --- the plugin --------------------------------------------------------------------


def command_name(instance: str, argv: Iterable[str]) -> str:
    """Spec names carry the instance: several instances run the same commands."""
    return f"{instance}.{slug(' '.join(argv))}"


def _commands(instance: Instance, commands: Iterable[tuple[str, ...]]) -> list[Spec]:
    # Db2 tools need the instance environment (db2profile): the owner's login
    # shell gives it when running as root; otherwise DB2INSTANCE picks the instance.
    return [
        CommandSpec(
            name=command_name(instance.name, argv),
            argv=argv,
            run_as=instance.owner,
            env={"DB2INSTANCE": instance.name},
            timeout=60.0,
        )
        for argv in commands
    ]


def _database_commands(alias: str, name: str) -> tuple[tuple[str, ...], ...]:
    return (*_database_status(alias, name), ("db2pd", "-logs", "-db", name))


def _database_status(alias: str, name: str) -> tuple[tuple[str, ...], ...]:
    """A database's configuration and HADR state (a snapshot's second round)."""
    # CLP commands take the alias; db2pd takes the database name.
    return (("db2", "get", "db", "cfg", "for", alias), ("db2pd", "-hadr", "-db", name))


def local_databases(directory: Iterable[Mapping[str, str]]) -> list[tuple[str, str]]:
    """(alias, name) of each local database, one alias per database name."""
    seen: dict[str, str] = {}
    for entry in directory:
        name = entry.get("Database name", "")
        if is_local(entry) and name and name not in seen:
            seen[name] = entry.get("Database alias") or name
    return [(alias, name) for name, alias in seen.items()]


def keystore_specs(instance: str, dbm: Mapping[str, str]) -> list[Spec]:
    """Keystores named in the dbm cfg, so the manifest shows where they are. Only
    files the core's denylist refuses unread are named; a keystore of a type it
    would not recognise (a KMIP or PKCS#11 configuration) is not offered at all."""
    paths = []
    for param in KEYSTORE_PARAMS:
        path = dbm.get(param, "").strip()
        if path.startswith("/"):
            paths.append(path)
            if param == "KEYSTORE_LOCATION" and path.lower().endswith(".p12"):
                paths.append(os.path.splitext(path)[0] + ".sth")  # its stash file
    return [
        FileSpec(name=f"{instance}.keystore.{slug(path)}", path=path)
        for path in dict.fromkeys(paths)
        if secret_file_reason(path) is not None
    ]


class Db2(Plugin):
    name = "db2"
    log_formats = (Db2DiagFormat,)
    description = "IBM Db2 LUW: level, license, instances, configuration, db2diag logs, HADR"
    commands = ("db2ls", "db2level", "db2ilist")
    paths = ("/var/db2/global.reg",)
    env_vars = ("DB2INSTANCE", "DB2DIR")
    budget = 300.0
    redaction_rules = (CFG_SECRET_RULE,)

    def applies(self, host: Host) -> Applicability:
        found = super().applies(host)
        if found.applies:
            return found
        for pattern in INSTALL_GLOBS:
            matches = [m for m in _host_glob(host, pattern) if host.path(m).is_dir()]
            if matches:
                return Applicability(True, f"Db2 installation directory {matches[0]} exists")
        return Applicability(
            False, found.reason + ", install directories " + ", ".join(INSTALL_GLOBS)
        )

    def specs(self, ctx: Context) -> list[Spec]:
        instances = find_instances(ctx)
        # Install-wide tools are on the instance owner's login PATH, rarely on root's.
        first = instances[0] if instances else None
        specs: list[Spec] = [
            _discovery_spec(ctx, instances),
            CommandSpec(name="db2ls", argv=("db2ls", "-a", "-c"), run_as=_owner_of(first)),
            CommandSpec(name="db2ilist", argv=("db2ilist",), run_as=_owner_of(first)),
        ]
        for instance in instances:
            specs += _commands(instance, INSTANCE_COMMANDS)
            if instance.home:
                specs += [
                    FileSpec(
                        name=f"{instance.name}.{slug(relative)}",
                        path=f"{instance.home}/sqllib/{relative}",
                    )
                    for relative in SQLLIB_FILES
                ]
        return specs

    def follow_up(self, ctx: Context, collected: Collected) -> list[Spec]:
        """The DIAGPATH that `db2 get dbm cfg` names and the local databases that
        `db2 list db directory` lists decide the second round."""
        specs: list[Spec] = []
        for instance in find_instances(ctx):
            dbm = _dbm_cfg(collected, instance)
            specs += self._diagnostics(instance, resolve_diagpath(dbm, instance.home)["resolved"])
            specs += keystore_specs(instance.name, dbm)
            for alias, name in _chosen_databases(ctx, collected, instance):
                specs += _commands(instance, _database_commands(alias, name))
        return specs

    def snapshot_specs(self, ctx: Context) -> list[Spec]:
        instances = find_instances(ctx)
        specs: list[Spec] = [_discovery_spec(ctx, instances)]
        for instance in instances:
            specs += _commands(instance, SNAPSHOT_COMMANDS)
        return specs

    def snapshot_follow_up(self, ctx: Context, collected: Collected) -> list[Spec]:
        """Each database's cfg and HADR state, and the db2diag.log records
        written since the previous snapshot (the run's time window)."""
        specs: list[Spec] = []
        for instance in find_instances(ctx):
            diagpath = resolve_diagpath(_dbm_cfg(collected, instance), instance.home)["resolved"]
            if diagpath:
                specs.append(_db2diag_spec(instance, diagpath, SNAPSHOT_DIAG_LOGS))
            for alias, name in _chosen_databases(ctx, collected, instance):
                specs += _commands(instance, _database_status(alias, name))
        return specs

    @staticmethod
    def _diagnostics(instance: Instance, diagpath: str | None) -> list[Spec]:
        if not diagpath:
            return []
        where = glob.escape(diagpath.rstrip("/"))
        return [
            _db2diag_spec(instance, diagpath, 10),
            LogSpec(
                name=f"{instance.name}.nfy",
                pattern=f"{where}/{glob.escape(instance.name)}.*nfy",
                format=Db2DiagFormat(),
                newest=5,
            ),
            FactSpec(name=f"{instance.name}.dumps", collect=_dump_lister(diagpath)),
        ]

    def facts(self, collected: Collected) -> dict[str, Any]:
        discovery = collected.json("discovery") or {}
        instances = [instance_facts(collected, entry) for entry in discovery.get("instances", [])]
        known = {entry["name"] for entry in instances}
        for name in parse_db2ilist(collected.text("db2ilist") or ""):
            if name not in known:
                instances.append(_uncollected_instance(name))
        databases = [db for entry in instances for db in entry.pop("database_facts")]
        installs = parse_db2ls(collected.text("db2ls") or "")
        level: dict[str, Any] = next(
            (i["level"] for i in instances if i["level"].get("version")), {}
        )
        install: dict[str, str] = next(
            (i for i in installs if i["path"] == level.get("install_path")),
            installs[0] if installs else {},
        )
        main = next((i for i in instances if i["collected"]), None)
        return {
            "product": "IBM Db2",
            "version": level.get("version") or install.get("version"),
            "fix_pack": level.get("fix_pack") or install.get("fix_pack"),
            "special_build": level.get("special_build") or install.get("special_build") or None,
            "build_level": level.get("build_level"),
            "code_release": level.get("code_release"),
            "install_path": level.get("install_path")
            or install.get("path")
            or discovery.get("db2dir")
            or next(iter(discovery.get("install_dirs") or []), None),
            "installations": installs,
            "instances": [{k: v for k, v in i.items() if k != "level"} for i in instances],
            "databases": databases,
            "license": main["license"] if main else [],
            "diagpath": main["diagpath"]["resolved"] if main else None,
        }

    def findings(self, bundle: BundleView) -> list[Finding]:
        found = [end_of_support_finding(bundle, self.name)]
        found += hadr_not_peer(bundle) + recent_errors(bundle) + diagpath_nearly_full(bundle)
        return [finding for finding in found if finding is not None]


def _discovery_spec(ctx: Context, instances: list[Instance]) -> Spec:
    """What detection found, for facts() to read back."""
    discovery = {
        "instances": [instance.as_dict() for instance in instances],
        "install_dirs": [d for g in INSTALL_GLOBS for d in ctx.glob(g)],
        "db2dir": ctx.host.env.get("DB2DIR"),
    }
    return FactSpec(name="discovery", collect=lambda _host: discovery)


def _db2diag_spec(instance: Instance, diagpath: str, newest: int) -> Spec:
    return LogSpec(
        name=f"{instance.name}.db2diag",
        pattern=f"{glob.escape(diagpath.rstrip('/'))}/db2diag*.log",
        format=Db2DiagFormat(),
        newest=newest,
    )


def _dbm_cfg(collected: Collected, instance: Instance) -> dict[str, str]:
    return parse_cfg(
        collected.text(command_name(instance.name, ("db2", "get", "dbm", "cfg"))) or ""
    )


def _chosen_databases(
    ctx: Context, collected: Collected, instance: Instance
) -> list[tuple[str, str]]:
    """(alias, name) of the local databases `db2 list db directory` listed,
    narrowed to --database, at most MAX_DATABASES."""
    chosen = (ctx.selection.get("database") or "").upper()
    directory = collected.text(command_name(instance.name, ("db2", "list", "db", "directory")))
    databases = local_databases(parse_db_directory(directory or ""))
    if chosen:
        databases = [db for db in databases if chosen in (db[0].upper(), db[1].upper())]
    return databases[:MAX_DATABASES]


def _owner_of(instance: Instance | None) -> str | None:
    return instance.owner if instance else None


def _dump_lister(diagpath: str) -> Callable[[Host], dict[str, Any]]:
    return lambda host: list_dumps(diagpath, host)


def _uncollected_instance(name: str) -> dict[str, Any]:
    """An instance db2ilist lists whose home was not found (nor chosen)."""
    return {
        "name": name,
        "owner": None,
        "home": None,
        "found_by": ["db2ilist"],
        "collected": False,
        "state": "unknown",
        "level": {},
        "license": [],
        "diagpath": resolve_diagpath({}, None),
        "databases": [],
        "database_facts": [],
    }


def instance_facts(collected: Collected, entry: Mapping[str, Any]) -> dict[str, Any]:
    name, home = entry["name"], entry.get("home")

    def output(*argv: str) -> str | None:
        return collected.text(command_name(name, argv))

    level = parse_db2level(output("db2level") or "")
    dbm = parse_cfg(output("db2", "get", "dbm", "cfg") or "")
    # A snapshot runs the bare `db2pd -`: the same banner, without the OS tables.
    osinfo = output("db2pd", "-osinfo") or output("db2pd", "-")
    banner = parse_db2pd_banner(osinfo or "") or {}
    directory = parse_db_directory(output("db2", "list", "db", "directory") or "")
    databases = [database_facts(collected, name, db) for db in directory if is_local(db)]
    return {
        "name": name,
        "owner": entry.get("owner"),
        "home": home,
        "found_by": list(entry.get("found_by", [])),
        "collected": True,
        "state": db2pd_state(osinfo),
        "uptime": banner.get("uptime"),
        "version": level.get("version"),
        "fix_pack": level.get("fix_pack"),
        "build_level": level.get("build_level"),
        "install_path": level.get("install_path"),
        "level": level,
        "dbm_cfg": {key: dbm.get(param) for key, param in DBM_CFG_FACTS.items()},
        "diagpath": resolve_diagpath(dbm, home),
        "registry": {v["name"]: v["value"] for v in parse_db2set(output("db2set", "-all") or "")},
        "members": parse_db2nodes(collected.text(f"{name}.db2nodes.cfg") or ""),
        "license": parse_db2licm(output("db2licm", "-l") or ""),
        "databases": [db["alias"] for db in databases],
        "database_facts": databases,
    }


def database_facts(collected: Collected, instance: str, entry: Mapping[str, str]) -> dict[str, Any]:
    alias = entry.get("Database alias", "")
    name = entry.get("Database name", alias)
    cfg_text, hadr_text, logs_text = (
        collected.text(command_name(instance, argv)) for argv in _database_commands(alias, name)
    )
    cfg = parse_cfg(cfg_text or "")
    hadr = parse_db2pd_pairs(hadr_text or "")
    logs = parse_db2pd_logs(logs_text or "")
    return {
        "instance": instance,
        "alias": alias,
        "name": name,
        "directory": entry.get("Local database directory"),
        "entry_type": entry.get("Directory entry type"),
        "collected": cfg_text is not None or logs_text is not None,
        "state": db2pd_state(logs_text or hadr_text),
        "config": {key: cfg[key] for key in DB_CFG_FACTS if key in cfg},
        "hadr": {
            "role": hadr.get("HADR_ROLE"),
            "state": hadr.get("HADR_STATE"),
            "syncmode": hadr.get("HADR_SYNCMODE"),
            "connect_status": hadr.get("HADR_CONNECT_STATUS"),
            "primary_host": hadr.get("PRIMARY_MEMBER_HOST"),
            "standby_host": hadr.get("STANDBY_MEMBER_HOST"),
            "log_gap_bytes": hadr.get("HADR_LOG_GAP(bytes)"),
        }
        if hadr
        else None,
        "logs": {
            "current_log_number": logs.get("Current Log Number"),
            "current_lsn": logs.get("Current LSN"),
            "log_files": len(logs["log_files"]),
        }
        if logs_text
        else None,
    }


# --- findings (engineer side: read from a bundle, never from the host) ------------

ERROR_LEVELS = ("Critical", "Alert", "Severe", "Error")
DIAGPATH_FULL_PERCENT = 90  # a full DIAGPATH stops db2diag.log and FODC dumps


def hadr_not_peer(bundle: BundleView) -> list[Finding]:
    """db2.hadr_not_peer: an HADR database whose pair is not in PEER state
    (REMOTE_CATCHUP is the normal state of SUPERASYNC, so it is not reported)."""
    found = []
    for number, database in enumerate(bundle.facts("db2").get("databases") or []):
        hadr = database.get("hadr") or {}
        state, mode = hadr.get("state"), hadr.get("syncmode")
        if not state or state == "PEER" or (mode, state) == ("SUPERASYNC", "REMOTE_CATCHUP"):
            continue
        found.append(
            Finding(
                "db2.hadr_not_peer",
                "high",
                f"HADR {hadr.get('role') or '?'} database {database.get('name')} is in state "
                f"{state}, not PEER (connect status {hadr.get('connect_status') or '?'})",
                f"manifest.json#/facts/db2/databases/{number}/hadr",
            )
        )
    return found


def recent_errors(bundle: BundleView) -> list[Finding]:
    """db2.recent_errors: Critical, Alert, Severe or Error records in the 24 hours
    before the bundle was made, one finding per diagnostic log."""
    found = []
    for log, records in recent_records(bundle, "db2", ERROR_LEVELS):
        levels = Counter(r.level for r in records)
        counts = ", ".join(f"{n} {level}" for level, n in levels.most_common())
        severe = levels.keys() - {"Error"}
        message = f"{counts} record(s) in the 24 h before collection"
        found.append(Finding("db2.recent_errors", "high" if severe else "medium", message, log))
    return found


def diagpath_nearly_full(bundle: BundleView) -> list[Finding]:
    """db2.diagpath_nearly_full: the file system of an instance's DIAGPATH is
    at least DIAGPATH_FULL_PERCENT used, from the os plugin's `df -kP` output."""
    usage = disk_usage(bundle)
    found = []
    for instance in bundle.facts("db2").get("instances") or []:
        diagpath = (instance.get("diagpath") or {}).get("resolved")
        mount = mount_of(diagpath, usage) if diagpath else None
        if mount is None or usage[mount][0] < DIAGPATH_FULL_PERCENT:
            continue
        percent, evidence = usage[mount]
        found.append(
            Finding(
                "db2.diagpath_nearly_full",
                "high" if percent >= 97 else "medium",
                f"DIAGPATH {diagpath} of instance {instance.get('name')} is on {mount}, "
                f"{percent}% full",
                evidence,
            )
        )
    return found


def mount_of(path: str, usage: Mapping[str, Any]) -> str | None:
    """The mount point holding `path`: the longest one that is a prefix of it."""
    holding = [m for m in usage if path == m or path.startswith(m.rstrip("/") + "/")]
    return max(holding, key=len, default=None)


def disk_usage(bundle: BundleView) -> dict[str, tuple[int, str]]:
    """{mount point: (percent used, bundle path)} from `df -kP` in the bundle."""
    item = next(
        (
            i
            for i in bundle.manifest.get("items") or []
            if isinstance(i, dict) and (i.get("plugin"), i.get("name")) == ("os", "df_-kP")
        ),
        None,
    )
    if item is None or not item.get("path"):
        return {}
    with bundle.read(item["path"]) as stream:
        text = stream.read(1024 * 1024).decode("utf-8", errors="replace")
    return {mount: (percent, item["path"]) for mount, percent in parse_df(text).items()}


def parse_df(text: str) -> dict[str, int]:
    """`df -kP`: {mount point: percent used}."""
    usage = {}
    for line in text.splitlines()[1:]:
        fields = line.split(None, 5)
        # ASCII digits only: isdigit() also accepts '²', which int() refuses.
        if len(fields) == 6 and re.fullmatch(r"[0-9]{1,3}%", fields[4]):
            usage[fields[5]] = int(fields[4][:-1])
    return usage
