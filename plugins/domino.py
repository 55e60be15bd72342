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

This module says what to collect and builds the facts; the parsers, log
formats and findings it calls are in plugins/domino_parse.py.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from collector.findings import BundleView, Finding
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.plugin import Collected, Context, Plugin
from collector.redact import MASK, Rule
from collector.spec import FactSpec, FileSpec, GlobSpec, LogSpec, Spec, slug

from .domino_parse import (
    AccessLogFormat,
    ConsoleLogFormat,
    last_banner,
    notes_ini_facts,
    nsd_reports,
    parse_install_dat,
    parse_notes_ini,
    parse_nsd_header,
    parse_shell_config,
    release_from_evidence,
    servers_not_running,
)

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
        examples=(
            (b"PKCS11_PIN=12 34\n", b"PKCS11_PIN=********\n"),
            (b"$SSO_PIN = a b c\r\n", b"$SSO_PIN = ********\r\n"),
        ),
        keeps=(b"SSL_BYPASS=1\n", b"ServerTasks=Router\n", b"PKCS11_PIN=\n"),
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
        examples=(
            (
                b"10:20:00 AM  > set config DIIOP_PIN=PLANTED E f\n",
                b"10:20:00 AM  > set config DIIOP_PIN=********\n",
            ),
        ),
        keeps=(b'> set config "ServerTasks=Router,HTTP"\n',),
    ),
)


# --- releases: what the collector reads from log heads -------------------------


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
