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

The parsers and the db2diag log format are in db2_parse, the findings rules in
db2_findings; this module says what to collect and assembles the facts.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from collector.findings import BundleView, Finding
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.plugin import Applicability, Collected, Context, FleetMember, Plugin
from collector.redact import MASK, Rule, secret_file_reason
from collector.spec import CommandSpec, FactSpec, FileSpec, LogSpec, Spec, slug

from .db2_findings import diagpath_nearly_full, hadr_not_peer, recent_errors
from .db2_parse import (
    Db2DiagFormat,
    db2pd_state,
    is_local,
    parse_cfg,
    parse_db2ilist,
    parse_db2level,
    parse_db2licm,
    parse_db2ls,
    parse_db2nodes,
    parse_db2pd_banner,
    parse_db2pd_logs,
    parse_db2pd_pairs,
    parse_db2set,
    parse_db_directory,
    parse_passwd,
    resolve_diagpath,
)

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
    examples=(
        (
            b" TSM password                             (TSM_PASSWORD) = s3cr3t value\n",
            b" TSM password                             (TSM_PASSWORD) = ********\n",
        ),
    ),
    keeps=(
        b" Client Userid-Password Plugin          (CLNT_PW_PLUGIN) = IBMOSauthclient\n",
        b" TSM password                             (TSM_PASSWORD) = \n",
    ),
)


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

    def fleet_members(self, ctx: Context) -> list[FleetMember]:
        """The hosts of each instance's members, from ~owner/sqllib/db2nodes.cfg
        (`pa-collect inventory --product db2`)."""
        return [
            member for instance in find_instances(ctx) for member in instance_fleet(ctx, instance)
        ]


# --- the instance's hosts (pa-collect inventory) ------------------------------------


def instance_fleet(ctx: Context, instance: Instance) -> list[FleetMember]:
    """One FleetMember per host of the instance: its member numbers, logical
    ports and netnames from db2nodes.cfg. Without a db2nodes.cfg the instance is
    a single member on this host (as Db2 itself assumes). The owner is a group
    variable so a play can become the instance owner."""
    if instance.home is None:
        return []  # an --instance with no home here: nothing says where it runs
    text = ctx.read_text(f"{instance.home}/sqllib/db2nodes.cfg")
    members = parse_db2nodes(text) if text is not None else []
    if text is None:
        members = [{"member": "0", "host": ctx.host.hostname(), "logical_port": "0"}]
    by_host: dict[str, list[dict[str, str]]] = {}
    for member in members:
        by_host.setdefault(member["host"], []).append(member)
    group_vars = {
        "db2_instance": instance.name,
        "db2_instance_owner": instance.owner,
        "db2_instance_home": instance.home,
        "pa_collect_instance": instance.name,
    }
    return [
        FleetMember(
            host=host,
            group=instance.name,
            host_vars=_member_vars(entries),
            group_vars=group_vars,
        )
        for host, entries in by_host.items()
    ]


def _member_vars(entries: list[dict[str, str]]) -> dict[str, Any]:
    """A host's db2 member numbers and logical ports (and netnames when given)."""
    found: dict[str, Any] = {
        "db2_members": [int(e["member"]) for e in entries],
        "db2_logical_ports": [_number(e.get("logical_port", "0")) for e in entries],
    }
    netnames = [e["netname"] for e in entries if e.get("netname")]
    if netnames:
        found["db2_netnames"] = list(dict.fromkeys(netnames))
    return found


def _number(text: str) -> int | str:
    return int(text) if text.isdecimal() else text


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
