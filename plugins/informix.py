"""informix: IBM Informix Dynamic Server (IDS).

Collects, for each local database server (the DBSERVERNAME of each onconfig file
in $INFORMIXDIR/etc and $INFORMIXSERVER, else the sqlhosts entries; at most 10,
or the one chosen with --instance):
- what onstat reports: `onstat -` (mode), `-m` (message log tail), `-c` (the
  configuration in effect), `-d` (dbspaces, chunks), `-l` (physical and logical
  logs), `-g dri` (HDR) and `-g rss` (remote secondaries), run with that
  server's INFORMIXDIR, INFORMIXSERVER and ONCONFIG;
- its ONCONFIG file and its message log (MSGPATH, usually online.log, plus the
  newest rotated copies), cut to the time window;
- a listing of the af.* assertion-failure files in its DUMPDIR: names, sizes and
  times only.
Once per installation: `onstat -version`, `onstat -V`, the sqlhosts files,
conssl.cfg and the $INFORMIXDIR/ssl folder (certificates).

Safe to send: onstat only reads shared memory and nothing here changes a
server's state. Assertion-failure files can hold SQL text and row data, so they
are listed, not read. The core refuses the GSKit keystores and stash files
(.kdb .sth .rdb .crl .p12) before reading them. Everything else passes the
central redactor, plus the rules below for passwords written as Informix SQL
(CREATE USER ... PASSWORD '...', CONNECT ... USER '...' USING '...').
"""

from __future__ import annotations

import glob
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, BinaryIO

from collector.findings import BundleView, Finding
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.logwindow import LogFormat, Record, aware
from collector.plugin import Applicability, Collected, Context, Plugin
from collector.redact import MASK, Rule
from collector.spec import CommandSpec, FactSpec, FileSpec, GlobSpec, LogSpec, Spec, slug

PRODUCT = "IBM Informix Dynamic Server"
INSTALL_DIRS = ("/opt/IBM/informix", "/opt/IBM/Informix", "/opt/informix", "/usr/informix")
MAX_SERVERS = 10
ROTATED_LOGS = 3
SSL_FILES = 20
LISTED_AF_FILES = 50
# The per-server onstat views support asks for first, in this order.
ONSTAT_VIEWS = (("-",), ("-m",), ("-c",), ("-d",), ("-l",), ("-g", "dri"), ("-g", "rss"))
# onstat reports the server mode in its exit status: 0-7 are the modes (5 is
# On-Line) and 255 is Off-Line. All of them mean the command itself worked.
ONSTAT_OK = frozenset(range(8)) | {255}
# onconfig files in etc/ that are templates or copies, not a server's configuration.
NOT_A_SERVER = re.compile(r"\.(?:std|bak|old|orig|sav|save|tmp|new)$|~$|\.\d{8,}$")
# Edition codes that end the version string (14.10.FC4W1AEE, 12.10.FC3IE).
EDITIONS = {
    "AEE": "Advanced Enterprise Edition",
    "AWE": "Advanced Workgroup Edition",
    "EE": "Enterprise Edition",
    "WE": "Workgroup Edition",
    "IE": "Innovator-C Edition",
    "DE": "Developer Edition",
}


def _sql_password(match: re.Match[bytes]) -> bytes:
    return match.group("lead") + MASK + match.group("trail")


# Passwords in Informix SQL statements, which reach online.log and onstat
# output: key and value are separated by a space, so the baseline rules
# (key=value, key: value) do not see them.
REDACTION_RULES = (
    Rule(
        "informix_sql_password",
        re.compile(
            rb"(?P<lead>\bpassword\s+(?P<q>['\"]))(?P<val>(?!\*{8})[^'\"\n]+)(?P<trail>(?P=q))",
            re.IGNORECASE,
        ),
        _sql_password,
        (b"password",),
    ),
    Rule(
        "informix_connect_using",
        re.compile(
            rb"(?P<lead>\buser\s+(?P<q>['\"])[^'\"\n]*(?P=q)\s+using\s+(?P<q2>['\"]))"
            rb"(?P<val>(?!\*{8})[^'\"\n]+)(?P<trail>(?P=q2))",
            re.IGNORECASE,
        ),
        _sql_password,
        (b"using",),
    ),
)


class Informix(Plugin):
    name = "informix"
    description = "IBM Informix Dynamic Server: onstat views, onconfig, sqlhosts, online.log"
    commands = ("onstat", "oninit")
    paths = INSTALL_DIRS
    env_vars = ("INFORMIXDIR", "INFORMIXSERVER")
    budget = 180.0
    redaction_rules = REDACTION_RULES

    def applies(self, host: Host) -> Applicability:
        # An onconfig file is the strongest sign of a server on this host.
        onconfig = default_onconfig(host)
        if onconfig is not None and host.path(onconfig).is_file():
            return Applicability(True, f"onconfig file {onconfig} found")
        found = super().applies(host)
        if found.applies:
            return found
        return Applicability(False, found.reason + ", onconfig file $INFORMIXDIR/etc/$ONCONFIG")

    def specs(self, ctx: Context) -> list[Spec]:
        found = discover(ctx)
        document = found.as_document()
        specs: list[Spec] = [FactSpec(name="installation", collect=lambda host: document)]
        onstat = onstat_command(ctx.host, found.install_path)
        env = found.servers[0].env(found.install_path) if found.servers else {}
        specs += [
            CommandSpec(name="onstat_-version", argv=(onstat, "-version"), env=env),
            CommandSpec(name="onstat_-V", argv=(onstat, "-V"), env=env),
        ]
        for server in found.servers:
            specs += server_specs(server, onstat, found.install_path)
        specs.append(assertion_listing({s.name: s.dumpdir for s in found.servers}))
        specs += installation_files(found)
        return specs

    def snapshot_specs(self, ctx: Context) -> list[Spec]:
        """Each server's mode and uptime (`onstat -`)."""
        found = discover(ctx)
        document = found.as_document()
        onstat = onstat_command(ctx.host, found.install_path)
        specs: list[Spec] = [FactSpec(name="installation", collect=lambda host: document)]
        specs += [onstat_spec(s, onstat, found.install_path, ("-",)) for s in found.servers]
        return specs

    def follow_up(self, ctx: Context, collected: Collected) -> list[Spec]:
        """The message log and DUMPDIR that onstat reports, where the onconfig
        file did not name them (unreadable, or changed with onmode -wm)."""
        found = collected.json("installation") or {}
        specs: list[Spec] = []
        dumpdirs: dict[str, str | None] = {}
        for server in found.get("servers", []):
            name = server["name"]
            message_log = parse_onstat_m(collected.text(command_name(name, ("-m",))) or "")
            path = message_log["message_log"]
            if path and path.startswith("/") and path != server["msgpath"]:
                specs += message_log_specs(f"{slug(name)}_reported", path)
            dumpdir = reported_dumpdir(collected, name, found.get("install_path"))
            if dumpdir and dumpdir != server["dumpdir"]:
                dumpdirs[name] = dumpdir
        if dumpdirs:
            specs.append(assertion_listing(dumpdirs, name="assertion_failure_files_reported"))
        return specs

    def facts(self, collected: Collected) -> dict[str, Any]:
        found = collected.json("installation") or {}
        listings = {
            **(collected.json("assertion_failure_files_reported") or {}),
            **(collected.json("assertion_failure_files") or {}),
        }
        servers = [server_facts(collected, s, listings) for s in found.get("servers", [])]
        build = parse_onstat_version(collected.text("onstat_-version") or "")
        serial = parse_onstat_v(collected.text("onstat_-V") or "")
        banner = next((b for b in (server_banner(collected, s["name"]) for s in servers) if b), {})
        version = banner.get("version") or serial.get("version") or build["build_version"]
        level = parse_level(version)
        return {
            "product": banner.get("product") or serial.get("product") or PRODUCT,
            "version": version,
            "release": level.get("release"),
            "fix_pack": level.get("fix_pack"),
            "fix_pack_level": level.get("level"),
            "interim_fix": level.get("interim"),
            "build_level": build["build_number"],
            "build_date": build["build_date"],
            "install_path": found.get("install_path"),
            "license": {
                "edition_code": level.get("edition"),
                "edition": EDITIONS.get(level.get("edition") or ""),
                "serial_number": serial.get("serial_number"),
            },
            "sqlhosts": found.get("sqlhosts"),
            "sqlhosts_entries": parse_sqlhosts(collected.text("sqlhosts") or ""),
            "servers_found": found.get("servers_found", []),
            "servers": servers,
        }

    def findings(self, bundle: BundleView) -> list[Finding]:
        found = [end_of_support_finding(bundle, self.name)]
        found += servers_not_online(bundle) + assertion_failures(bundle)
        return [finding for finding in found if finding is not None]


# --- discovery -------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """One database server to collect, with the pointers its onconfig gave."""

    name: str
    onconfig: str | None
    msgpath: str | None
    dumpdir: str | None
    aliases: tuple[str, ...]
    found_in: str

    def env(self, install_path: str | None) -> dict[str, str]:
        """What onstat needs to attach to this server's shared memory."""
        env = {"INFORMIXSERVER": self.name}
        if install_path:
            env["INFORMIXDIR"] = install_path
        if self.onconfig:
            # ONCONFIG is a file name in $INFORMIXDIR/etc; newer servers also
            # take a full path, which is what a file elsewhere needs.
            in_etc = os.path.dirname(self.onconfig) == f"{install_path}/etc"
            env["ONCONFIG"] = os.path.basename(self.onconfig) if in_etc else self.onconfig
        return env


@dataclass(frozen=True)
class Installation:
    install_path: str | None
    sqlhosts: str | None
    servers: tuple[Server, ...]
    servers_found: tuple[str, ...]
    selection: str | None

    def as_document(self) -> dict[str, Any]:
        return {
            "install_path": self.install_path,
            "sqlhosts": self.sqlhosts,
            "servers_found": list(self.servers_found),
            "selection": self.selection,
            "servers": [
                {
                    "name": s.name,
                    "onconfig": s.onconfig,
                    "msgpath": s.msgpath,
                    "dumpdir": s.dumpdir,
                    "aliases": list(s.aliases),
                    "found_in": s.found_in,
                }
                for s in self.servers
            ],
        }


def install_path(host: Host) -> str | None:
    """$INFORMIXDIR, a standard install folder, or the folder above onstat's bin/."""
    if host.env.get("INFORMIXDIR", "").startswith("/"):
        return host.env["INFORMIXDIR"].rstrip("/") or "/"
    for folder in INSTALL_DIRS:
        if host.path(folder).is_dir():
            return folder
    onstat = host.which("onstat")
    if onstat:
        folder = os.path.dirname(os.path.dirname(onstat))
        if host.path(folder + "/etc").is_dir():
            return folder
    return None


def default_onconfig(host: Host) -> str | None:
    """$INFORMIXDIR/etc/$ONCONFIG (onconfig when unset), as onstat would read it."""
    folder = install_path(host)
    if folder is None:
        return None
    return onconfig_path(folder, host.env.get("ONCONFIG") or "onconfig")


def onconfig_path(install: str, onconfig: str) -> str:
    return onconfig if onconfig.startswith("/") else f"{install}/etc/{onconfig}"


def discover(ctx: Context) -> Installation:
    env = ctx.host.env
    install = install_path(ctx.host)
    variables = {**env, **({"INFORMIXDIR": install} if install else {})}
    servers: dict[str, Server] = {}
    for path in onconfig_files(ctx, install):
        server = server_from_onconfig(path, ctx.read_text(path) or "", variables)
        if server is not None and server.name not in servers:
            servers[server.name] = server
    aliases = {alias for server in servers.values() for alias in server.aliases}
    sqlhosts = env.get("INFORMIXSQLHOSTS") or (f"{install}/etc/sqlhosts" if install else None)
    if sqlhosts and not sqlhosts.startswith("/"):
        sqlhosts = None  # relative to a working directory we do not know
    extra = [("$INFORMIXSERVER", env.get("INFORMIXSERVER", ""))]
    if not servers:
        # Without a readable onconfig, the sqlhosts names are the best guess.
        entries = parse_sqlhosts(ctx.read_text(sqlhosts) or "") if sqlhosts else []
        extra += [("sqlhosts", entry["name"]) for entry in entries]
    for found_in, name in extra:
        if name and name not in servers and name not in aliases:
            servers[name] = unconfigured_server(ctx, install, name, found_in)
    wanted = ctx.selection.get("instance")
    if wanted:
        chosen = [servers.get(wanted) or unconfigured_server(ctx, install, wanted, "--instance")]
    else:
        first = env.get("INFORMIXSERVER")
        chosen = sorted(servers.values(), key=lambda s: (s.name != first, s.name))
    return Installation(
        install_path=install,
        sqlhosts=sqlhosts,
        servers=tuple(chosen[:MAX_SERVERS]),
        servers_found=tuple(sorted(servers)),
        selection=wanted,
    )


def onconfig_files(ctx: Context, install: str | None) -> list[str]:
    """$ONCONFIG first, then every other onconfig.* in $INFORMIXDIR/etc."""
    if install is None:
        return []
    files = [onconfig_path(install, ctx.host.env.get("ONCONFIG") or "onconfig")]
    for path in ctx.glob(glob.escape(f"{install}/etc") + "/onconfig*"):
        if not NOT_A_SERVER.search(path) and path not in files:
            files.append(path)
    return files


def server_from_onconfig(path: str, text: str, variables: Mapping[str, str]) -> Server | None:
    params = parse_onconfig(text)
    name = last_value(params, "DBSERVERNAME")
    if not name:
        return None
    aliases = last_value(params, "DBSERVERALIASES") or ""
    return Server(
        name=name,
        onconfig=path,
        msgpath=path_value(params, "MSGPATH", variables),
        dumpdir=path_value(params, "DUMPDIR", variables),
        aliases=tuple(a.strip() for a in aliases.split(",") if a.strip()),
        found_in="onconfig",
    )


def unconfigured_server(ctx: Context, install: str | None, name: str, found_in: str) -> Server:
    """A server known by name only: its onconfig is etc/onconfig.<name> when that
    exists, else $ONCONFIG."""
    if install is None:
        return Server(name, None, None, None, (), found_in)
    path = f"{install}/etc/onconfig.{name}"
    if not ctx.host.path(path).is_file():
        path = onconfig_path(install, ctx.host.env.get("ONCONFIG") or "onconfig")
    variables = {**ctx.host.env, "INFORMIXDIR": install}
    server = server_from_onconfig(path, ctx.read_text(path) or "", variables)
    if server is None or server.name != name:
        return Server(name, path, None, None, (), found_in)
    return Server(name, path, server.msgpath, server.dumpdir, server.aliases, found_in)


_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def path_value(
    params: Mapping[str, list[str]], name: str, variables: Mapping[str, str]
) -> str | None:
    """An onconfig path parameter with $INFORMIXDIR (and other variables) expanded;
    None unless it ends up absolute."""
    value = last_value(params, name)
    if not value:
        return None
    expanded = _VARIABLE.sub(
        lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), value.split()[0]
    )
    return expanded if expanded.startswith("/") and "$" not in expanded else None


def onstat_command(host: Host, install: str | None) -> str:
    """onstat from PATH; else $INFORMIXDIR/bin/onstat (root's PATH rarely has it)."""
    if host.which("onstat") or install is None:
        return "onstat"
    return f"{install}/bin/onstat"


# --- specs -------------------------------------------------------------------


def command_name(server: str, view: tuple[str, ...]) -> str:
    return slug(f"{server} onstat {' '.join(view)}")


def onstat_spec(server: Server, onstat: str, install: str | None, view: tuple[str, ...]) -> Spec:
    return CommandSpec(
        name=command_name(server.name, view),
        argv=(onstat, *view),
        env=server.env(install),
        ok_exit_codes=ONSTAT_OK,
    )


def server_specs(server: Server, onstat: str, install: str | None) -> list[Spec]:
    specs = [onstat_spec(server, onstat, install, view) for view in ONSTAT_VIEWS]
    if server.onconfig:
        specs.append(FileSpec(name=f"{slug(server.name)}_onconfig", path=server.onconfig))
    if server.msgpath:
        specs += message_log_specs(slug(server.name), server.msgpath)
    return specs


def message_log_specs(prefix: str, msgpath: str) -> list[Spec]:
    """The message log and its rotated copies (online.log.1, .2...: the
    `message log rotate` task numbers them from the newest)."""
    pattern = glob.escape(msgpath)
    return [
        LogSpec(name=f"{prefix}_message_log", pattern=pattern, format=OnlineLog()),
        LogSpec(
            name=f"{prefix}_message_log_rotated",
            pattern=pattern + ".[0-9]*",
            newest=ROTATED_LOGS,
            format=OnlineLog(),
        ),
    ]


def installation_files(found: Installation) -> list[Spec]:
    specs: list[Spec] = []
    if found.sqlhosts:
        specs.append(FileSpec(name="sqlhosts", path=found.sqlhosts))
    if found.install_path:
        etc = glob.escape(f"{found.install_path}/etc")
        specs += [
            GlobSpec(name="sqlhosts_variants", pattern=etc + "/sqlhosts.*"),
            FileSpec(name="conssl_cfg", path=f"{found.install_path}/etc/conssl.cfg"),
            # Certificates for SSL connection problems; the keystores and stash
            # files next to them are refused by the core's secret-file denylist.
            GlobSpec(
                name="ssl_folder",
                pattern=glob.escape(f"{found.install_path}/ssl") + "/*",
                newest=SSL_FILES,
            ),
        ]
    return specs


def assertion_listing(
    dumpdirs: Mapping[str, str | None], name: str = "assertion_failure_files"
) -> FactSpec:
    wanted = dict(dumpdirs)
    return FactSpec(name=name, collect=lambda host: list_assertion_files(host, wanted))


def list_assertion_files(host: Host, dumpdirs: Mapping[str, str | None]) -> dict[str, Any]:
    """Names, sizes and modification times of af.* files per server; never their
    content (SQL text, row data)."""
    listing: dict[str, Any] = {}
    for server, dumpdir in dumpdirs.items():
        if not dumpdir:
            listing[server] = {"dumpdir": None, "count": None, "files": []}
            continue
        files = []
        for path in host.path(dumpdir).glob("af.*"):
            try:
                status = path.stat()
            except OSError:
                continue
            if path.is_file():
                files.append((status.st_mtime, path.name, status.st_size))
        files.sort(reverse=True)
        listing[server] = {
            "dumpdir": dumpdir,
            "count": len(files),
            "files": [
                {
                    "name": file_name,
                    "size": size,
                    "mtime": datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                for mtime, file_name, size in files[:LISTED_AF_FILES]
            ],
        }
    return listing


# --- facts -------------------------------------------------------------------


def onstat_views(collected: Collected, server: str) -> dict[tuple[str, ...], str]:
    """The server's onstat outputs that ran successfully (empty when absent)."""
    return {view: collected.text(command_name(server, view)) or "" for view in ONSTAT_VIEWS}


def server_banner(collected: Collected, server: str) -> dict[str, Any] | None:
    """The onstat header, from whichever view printed one. `onstat -` exits with
    the server mode (5 when on-line), so the core rarely counts it as ok."""
    return next(filter(None, map(parse_banner, onstat_views(collected, server).values())), None)


def reported_dumpdir(collected: Collected, server: str, install: str | None) -> str | None:
    """DUMPDIR as `onstat -c` shows it, $INFORMIXDIR expanded."""
    config = parse_onstat_c(collected.text(command_name(server, ("-c",))) or "")
    variables = {"INFORMIXDIR": install} if install else {}
    return path_value(config["params"], "DUMPDIR", variables)


def server_facts(
    collected: Collected, server: Mapping[str, Any], listings: Mapping[str, Any]
) -> dict[str, Any]:
    name = server["name"]
    views = onstat_views(collected, name)
    banner = server_banner(collected, name) or {}
    offline = any(parse_offline(text) for text in views.values())
    dri = parse_onstat_g_dri(views["-g", "dri"])
    rss = parse_onstat_g_rss(views["-g", "rss"])
    spaces = parse_onstat_d(views[("-d",)])
    logs = parse_onstat_l(views[("-l",)])
    listing = listings.get(name) or {}
    return {
        "name": name,
        "state": banner.get("state") or ("Off-Line" if offline else None),
        "type": server_type(banner, dri, rss),
        "version": banner.get("version"),
        "uptime": banner.get("uptime"),
        "uptime_seconds": banner.get("uptime_seconds"),
        "shared_memory_kb": banner.get("shared_memory_kb"),
        "onconfig": parse_onstat_c(views[("-c",)])["config_file"] or server["onconfig"],
        "msgpath": server["msgpath"],
        "message_log": parse_onstat_m(views[("-m",)])["message_log"],
        "dumpdir": server["dumpdir"] or listing.get("dumpdir"),
        "aliases": server["aliases"],
        "found_in": server["found_in"],
        "dbspaces": spaces["dbspaces_active"] if spaces["dbspaces"] else None,
        "chunks": spaces["chunks_active"] if spaces["chunks"] else None,
        "logical_logs": len(logs["logs"]) or None,
        "current_log": next((g["uniqid"] for g in logs["logs"] if g["current"]), None),
        "paired_server": dri.get("paired_server"),
        "rss_servers": [r["name"] for r in rss["servers"]],
        "assertion_failure_files": listing.get("count"),
    }


def server_type(
    banner: Mapping[str, Any] | None, dri: Mapping[str, Any], rss: Mapping[str, Any]
) -> str | None:
    """standard, primary, secondary (HDR), rss or sds, from onstat -g rss, -g dri
    and the banner's (Prim)/(Sec)/(RSS)/(SDS) mark."""
    local = str(rss.get("local_server_type") or "").lower()
    pair = str(dri.get("type") or "").lower()
    mark = str((banner or {}).get("type_mark") or "").lower()
    if local in ("rss", "sds"):
        return local
    if "secondary" in pair or mark == "sec":
        return "secondary"
    if mark in ("rss", "sds"):
        return mark
    if pair == "primary" or local == "primary" or mark == "prim":
        return "primary"
    if pair or local:
        return "standard"
    return None


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
# A date header as a whole line (its newline included), for the backward scan.
_HEADER_LINE = re.compile(rb"^" + _DATE_HEADER + rb"\r?\n", re.MULTILINE)
_TIME_LINE = re.compile(r"^(?:\d\d/\d\d/\d\d )?\d\d:\d\d:\d\d(?:[ \t]|$)")
# How far back a time-only line looks for the day header that dates it.
LOOKBACK = 1024 * 1024
SCAN = 64 * 1024
_LEVELS = (
    (re.compile(r"assert failed|\berror\b|\bfail(?:ed|ure)\b|\bfatal\b", re.I), "error"),
    (re.compile(r"assert warning|\bwarning\b", re.I), "warning"),
)
_ERROR_NUMBER = re.compile(r"\berror(?: number)?:?\s*(-\d{2,6})\b", re.I)


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
        # Per file: the last date header found (offset, time) and the offset up
        # to which no later header exists. Lets a forward walk over the records
        # (the window's final scan, parsers) read each byte back at most once.
        self._known: OrderedDict[tuple[int, int], tuple[int, datetime, int]] = OrderedDict()
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
        """The time of the last date header in the LOOKBACK bytes before `offset`."""
        floor = max(0, offset - LOOKBACK)
        key = _file_key(stream)
        with self._lock:
            known = self._known.get(key) if key else None
        # What is known holds when it covers, without a gap, up to this lookback.
        if known is not None and not (known[0] < offset and known[2] >= floor):
            known = None
        found = scan_back(stream, min(known[2], offset) if known else floor, offset)
        if found is None and known is not None:
            remember = (known[0], known[1], max(known[2], offset))
            found = (known[0], known[1]) if known[0] >= floor else None
        elif found is not None:
            remember = (found[0], found[1], offset)
        else:
            return None
        if key:
            with self._lock:
                self._known[key] = remember
                self._known.move_to_end(key)
                while len(self._known) > 32:
                    self._known.popitem(last=False)
        return found[1] if found else None

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
    end = offset
    while end > floor:
        start = max(floor, end - SCAN)
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
        for match in reversed(list(_HEADER_LINE.finditer(block, first))):
            try:
                return start + match.start(), header_time(match)
            except ValueError:
                continue  # not a real date (Feb 30): not a header
        if start == floor:
            return None
        end = start + first if first < len(block) else start
    return None


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


# --- findings (engineer side: read from a bundle, never from the host) ------------

# Modes of a server that is up and serving: a primary or standard server is
# On-Line; HDR, RS and SD secondaries are Read-Only or Updatable.
SERVING_MODES = ("On-Line", "Read-Only", "Updatable")


def servers_not_online(bundle: BundleView) -> list[Finding]:
    """informix.server_not_online: a server onstat found Off-Line, Quiescent,
    in Single-User, Administration or recovery mode."""
    found = []
    for number, server in enumerate(bundle.facts("informix").get("servers") or []):
        state = server.get("state")
        if not state or state.startswith(SERVING_MODES):
            continue
        found.append(
            Finding(
                "informix.server_not_online",
                "high",
                f"database server {server.get('name')} is {state}, not On-Line",
                f"manifest.json#/facts/informix/servers/{number}/state",
            )
        )
    return found


def assertion_failures(bundle: BundleView) -> list[Finding]:
    """informix.assertion_failures: af.* assertion-failure files in a server's
    DUMPDIR (each one is a server-side failure worth a look)."""
    found = []
    for number, server in enumerate(bundle.facts("informix").get("servers") or []):
        count = server.get("assertion_failure_files")
        if not isinstance(count, int) or count < 1:
            continue
        found.append(
            Finding(
                "informix.assertion_failures",
                "high",
                f"{count} assertion failure file(s) (af.*) in {server.get('dumpdir')} "
                f"of server {server.get('name')}",
                f"manifest.json#/facts/informix/servers/{number}/assertion_failure_files",
            )
        )
    return found


# Set after the class body: the format class is defined further down.
Informix.log_formats = (OnlineLog,)
