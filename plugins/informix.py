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

This module is the plugin: what to collect, facts and findings. The parsers of
the collected text and the message-log format are in informix_parse.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from collector.findings import BundleView, Finding
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.plugin import Applicability, Collected, Context, Plugin
from collector.redact import MASK, Rule
from collector.spec import CommandSpec, FactSpec, FileSpec, GlobSpec, LogSpec, Spec, slug

from .informix_parse import (
    OnlineLog,
    last_value,
    parse_banner,
    parse_level,
    parse_offline,
    parse_onconfig,
    parse_onstat_c,
    parse_onstat_d,
    parse_onstat_g_dri,
    parse_onstat_g_rss,
    parse_onstat_l,
    parse_onstat_m,
    parse_onstat_v,
    parse_onstat_version,
    parse_sqlhosts,
)

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
        examples=(
            (
                b"12:00:00  CREATE USER bob WITH PASSWORD 'S3cr3t one';\n",
                b"12:00:00  CREATE USER bob WITH PASSWORD '********';\n",
            ),
        ),
        keeps=(b"12:00:03  Password policy changed; using default settings\n",),
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
        examples=(
            (
                b"CONNECT TO 'stores@ol_prod' USER 'bob' USING 'Third#3'\n",
                b"CONNECT TO 'stores@ol_prod' USER 'bob' USING '********'\n",
            ),
        ),
        keeps=(b"onstat: using shared memory of ol_prod\n",),
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
    log_formats = (OnlineLog,)

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
