"""websphere: IBM WebSphere Application Server traditional (8.5.5, 9.0.5).

Collects what WebSphere support asks for in stage two:

- per installation: `versionInfo.sh -maintenancePackages` and
  `manageprofiles.sh -listProfiles` (run by absolute path from the
  installation's bin folder, as the installation's owner when pa-collect runs as
  root), properties/profileRegistry.xml and the properties/version/*.product files;
- per profile (all of profileRegistry.xml, at most 10, or `--profile-name`): the
  cell's security.xml and resources.xml, the local node's serverindex.xml and
  resources.xml, each server's server.xml and resources.xml, and the
  *.client.props files wsadmin uses;
- per server: SystemOut.log and SystemErr.log (with their rotated copies),
  startServer.log and stopServer.log, all cut to the --since window record by
  record, and the tail of native_stderr.log;
- per profile: a listing of logs/ffdc (names, sizes, times) and the newest few
  FFDC incident files;
- a layout document: installations, profiles, cells, nodes, servers, and each
  server's state as far as its pid file and the process table tell, without
  running anything.

Safe to send: keystores (key.p12, trust.p12, *.jks) are only named, never read
(the core's secret-file denylist refuses them). Every other file passes the
central redactor, which masks password attributes, `{xor}`/`{aes}`/`{custom:}`
encoded values and `...Password=` properties; this plugin adds a rule for the
custom-property form `name="password" type="..." value="..."`, where other
attributes sit between the name and the value. Nothing that changes the
product's state is run (no start, stop, node sync or update).

The parsers, the SystemOut.log format and the findings rules are pure and live
in websphere_parse; this module is the plugin, its discovery and its specs.
"""

from __future__ import annotations

import functools
import glob
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import unescape

from collector.findings import BundleView, Finding
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.plugin import Applicability, Collected, Context, FleetMember, Plugin
from collector.redact import SECRET_KEY, make_rule, mask_secret_value
from collector.spec import CommandSpec, FactSpec, FileSpec, GlobSpec, LogSpec, Spec, slug

from .websphere_parse import (
    STARTED,
    STOPPED,
    SYSTEM_OUT,
    SystemOutFormat,
    parse_last_event,
    parse_list_profiles,
    parse_product_file,
    parse_profile_registry,
    parse_setup_cmd_line,
    parse_version_info,
    recent_errors,
    servers_not_running,
)

INSTALL_ROOTS = (
    "/opt/IBM/WebSphere/AppServer",
    "/opt/IBM/WebSphere/AppServer9",
    "/usr/IBM/WebSphere/AppServer",
)
MAX_INSTALLS = 3
MAX_PROFILES = 10
MAX_SERVERS = 20  # per profile
NEWEST_LOGS = 5  # SystemOut.log and its rotated SystemOut_yy.mm.dd_hh.mm.ss.log copies
NEWEST_FFDC = 5
FFDC_LISTED = 500
NATIVE_STDERR_CAP = 4 * 1024 * 1024  # its tail: the JVM's last words before a crash
TAIL_BYTES = 64 * 1024  # of startServer.log/stopServer.log, for the last start and stop

# The keystores of cell and node folders: listed so the manifest names them;
# the core refuses to read them.
KEYSTORE_GLOBS = ("*.p12", "*.jks")
PROFILE_TYPES = {
    "default": "application server",
    "dmgr": "deployment manager",
    "managed": "custom (managed node)",
    "cell": "cell (deployment manager and node)",
    # 8.5 and 9.0 create deployment managers from this template too (-serverType).
    "management": "management (deployment manager, administrative agent or job manager)",
    "secureproxy": "secure proxy",
}

_SECRET_TRIGGERS = (b"pass", b"pwd", b"secret", b"token", b"credential", b"api", b"private")
_IS = rb"[^\S\n]*=[^\S\n]*"
_SECRET_NAME = rb"\bname" + _IS + rb"(?P<q>[\"'])(?P<key>" + SECRET_KEY + rb")(?P=q)"
# A value the core already masked ("********", "{xor}********") is not counted twice.
_SECRET_VALUE = rb"(?P<val>(?!(?:\{[^}\s]*\})?\*{8})[^\"'\n]+)"
# Further attributes of the same XML tag; a quoted value may hold anything but a newline.
_SAME_TAG = rb"(?:[^<>\n\"']|\"[^\"\n]*\"|'[^'\n]*')*?"
REDACTION_RULES = (
    # <resourceProperties name="password" type="java.lang.String" value="x"/>: the
    # core's named_secret_value rule needs value= right after name=.
    make_rule(
        "websphere_custom_property",
        b"".join((rb"(?P<lead>", _SECRET_NAME, _SAME_TAG, rb"\bvalue", _IS, rb"(?P<v>[\"']))"))
        + _SECRET_VALUE
        + rb"(?P<trail>(?P=v))",
        mask_secret_value,
        _SECRET_TRIGGERS,
        examples=(
            (
                b'<resourceProperties name="password" type="java.lang.String" value="p w"/>\n',
                b'<resourceProperties name="password" type="java.lang.String" value="********"/>\n',
            ),
        ),
        keeps=(b'<p name="passwordRequired" type="b" value="true"/><q value="keep"/>\n',),
    ),
    # The same with value= before name=.
    make_rule(
        "websphere_custom_property_reversed",
        b"".join((rb"(?P<lead>\bvalue", _IS, rb"(?P<v>[\"']))"))
        + _SECRET_VALUE
        + b"".join((rb"(?P<trail>(?P=v)", _SAME_TAG, _SECRET_NAME, rb")")),
        mask_secret_value,
        _SECRET_TRIGGERS,
        examples=(
            (
                b'<resourceProperties value="s3 x" type="java.lang.String" name="password"/>\n',
                b'<resourceProperties value="********" type="java.lang.String" name="password"/>\n',
            ),
        ),
        keeps=(b'<resourceProperties value="SAMPLE" name="databaseName"/>\n',),
    ),
)


class WebSphere(Plugin):
    name = "websphere"
    description = "IBM WebSphere Application Server traditional: version, profiles, logs, FFDC"
    commands = ("versionInfo.sh",)
    paths = tuple(f"{root}/bin/versionInfo.sh" for root in INSTALL_ROOTS) + tuple(
        f"{root}/properties/profileRegistry.xml" for root in INSTALL_ROOTS
    )
    env_vars = ("WAS_HOME",)
    budget = 300.0  # versionInfo.sh and manageprofiles.sh each start a JVM
    redaction_rules = REDACTION_RULES
    log_formats = (SystemOutFormat,)

    def applies(self, host: Host) -> Applicability:
        # The class triggers alone would take any $WAS_HOME at its word.
        installs = find_installs(host)
        if installs:
            return Applicability(True, "WebSphere installation at " + ", ".join(installs))
        reason = self._not_found_reason()
        if host.env.get("WAS_HOME"):
            reason += f" ($WAS_HOME={host.env['WAS_HOME']} holds no installation)"
        return Applicability(False, reason)

    def specs(self, ctx: Context) -> Iterator[Spec]:
        layout = discover(ctx)
        yield FactSpec(name="layout", collect=functools.partial(observe, layout))
        for install in layout.installs:
            yield from install_specs(ctx, install, layout.owners.get(install))
        for profile in layout.profiles:
            yield from profile_specs(profile)

    def snapshot_specs(self, ctx: Context) -> Iterator[Spec]:
        """The layout with each server's state, from its .pid file and /proc."""
        layout = discover(ctx)
        yield FactSpec(name="layout", collect=functools.partial(observe, layout))

    def facts(self, collected: Collected) -> dict[str, Any]:
        layout = collected.json("layout") or {}
        installs = [
            install_facts(
                install,
                collected.text(install["version_info"]),
                collected.text(install["list_profiles"]),
            )
            for install in layout.get("installs", [])
        ]
        ffdc = {
            profile["name"]: collected.json(ffdc_name(profile["name"]))
            for profile in layout.get("profiles", [])
        }
        return build_facts(layout, installs, ffdc)

    def findings(self, bundle: BundleView) -> list[Finding]:
        found = [end_of_support_finding(bundle, self.name)]
        found += servers_not_running(bundle) + recent_errors(bundle)
        return [finding for finding in found if finding is not None]

    def fleet_members(self, ctx: Context) -> list[FleetMember]:
        """The hosts of each cell's nodes, from the serverindex.xml files of the
        profiles' configuration repositories (`pa-collect inventory --product
        websphere`): a deployment manager's repository holds the whole cell."""
        return cell_fleet(ctx, discover(ctx))


# --- what is installed where -----------------------------------------------------------


@dataclass(frozen=True)
class Server:
    name: str
    cell: str
    node: str
    config_dir: str
    log_dir: str


@dataclass(frozen=True)
class Profile:
    name: str
    path: str
    install_path: str
    template: str | None
    is_default: bool
    cell: str | None  # the profile's own cell and node, from its bin/setupCmdLine.sh
    node: str | None
    servers: tuple[Server, ...]
    servers_not_collected: int = 0

    @property
    def node_dirs(self) -> list[str]:
        return sorted({s.config_dir.rsplit("/servers/", 1)[0] for s in self.servers})

    @property
    def cell_dirs(self) -> list[str]:
        return sorted({d.rsplit("/nodes/", 1)[0] for d in self.node_dirs})


@dataclass(frozen=True)
class Layout:
    installs: tuple[str, ...]
    profiles: tuple[Profile, ...]
    profiles_found: int
    owners: dict[str, str | None] = field(default_factory=dict)
    requested_profile: str | None = None


def find_installs(host: Host) -> list[str]:
    """Installation roots: $WAS_HOME, the standard folders, and the one that
    versionInfo.sh on PATH belongs to; each must hold bin/versionInfo.sh or a
    profile registry."""
    candidates = [host.env.get("WAS_HOME", "").rstrip("/"), *INSTALL_ROOTS]
    on_path = host.which("versionInfo.sh")
    if on_path:
        candidates.append(_to_host_path(host, Path(on_path).resolve().parent.parent))
    found: list[str] = []
    for root in candidates:
        if root.startswith("/") and root not in found and _is_install(host, root):
            found.append(root)
    return found[:MAX_INSTALLS]


def _is_install(host: Host, root: str) -> bool:
    return (
        host.path(f"{root}/bin/versionInfo.sh").is_file()
        or host.path(f"{root}/properties/profileRegistry.xml").is_file()
    )


def _to_host_path(host: Host, local: Path) -> str:
    """A path on this machine as the host sees it ("" when outside the sysroot)."""
    try:
        relative = local.relative_to(host.sysroot)
    except ValueError:
        return ""
    return "/" + relative.as_posix() if relative.parts else "/"


def discover(ctx: Context) -> Layout:
    installs = tuple(find_installs(ctx.host))
    entries = [entry for install in installs for entry in _registered_profiles(ctx, install)]
    requested = ctx.selection.get("profile_name")
    chosen = [e for e in entries if requested is None or e["name"] == requested]
    profiles = tuple(_profile(ctx, entry) for entry in chosen[:MAX_PROFILES])
    owners = {install: _owner(ctx, install) for install in installs}
    return Layout(installs, profiles, len(entries), owners, requested)


def _registered_profiles(ctx: Context, install: str) -> list[dict[str, Any]]:
    """profileRegistry.xml's profiles; the profiles/ folder when it is missing."""
    registry = ctx.read_text(f"{install}/properties/profileRegistry.xml")
    entries = parse_profile_registry(registry or "")
    if registry is None:
        for config in ctx.glob(f"{install}/profiles/*/config"):
            path = config.removesuffix("/config")
            name = path.rsplit("/", 1)[-1]
            entries.append({"name": name, "path": path, "template": None, "is_default": False})
    return [
        {**entry, "install_path": install} for entry in entries if entry["path"].startswith("/")
    ]


def _profile(ctx: Context, entry: dict[str, Any]) -> Profile:
    path = entry["path"]
    setup = parse_setup_cmd_line(ctx.read_text(f"{path}/bin/setupCmdLine.sh") or "")
    cell, node = setup.get("WAS_CELL"), setup.get("WAS_NODE")
    servers = []
    for server_xml in ctx.glob(f"{path}/config/cells/*/nodes/*/servers/*/server.xml"):
        parts = server_xml.split("/")
        server_cell, server_node, name = parts[-6], parts[-4], parts[-2]
        # A profile's repository holds other nodes' servers too (a deployment
        # manager's holds the whole cell); only the local node's log here.
        if node is not None and (server_cell, server_node) != (cell or server_cell, node):
            continue
        config_dir = server_xml.rsplit("/", 1)[0]
        servers.append(Server(name, server_cell, server_node, config_dir, f"{path}/logs/{name}"))
    return Profile(
        name=entry["name"],
        path=path,
        install_path=entry["install_path"],
        template=entry["template"],
        is_default=entry["is_default"],
        cell=cell,
        node=node,
        servers=tuple(servers[:MAX_SERVERS]),
        servers_not_collected=max(0, len(servers) - MAX_SERVERS),
    )


def _owner(ctx: Context, install: str) -> str | None:
    """The user owning versionInfo.sh, unless root: a root run starts the scripts
    as that user, so they leave no root-owned files in the installation."""
    try:
        uid = ctx.host.path(f"{install}/bin/versionInfo.sh").stat().st_uid
    except OSError:
        return None
    if uid == 0:
        return None
    for line in (ctx.read_text("/etc/passwd") or "").splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2] == str(uid):
            return fields[0]
    return None


# --- the cell's hosts (pa-collect inventory) -------------------------------------------

_SERVER_INDEX_HOST = re.compile(r"<(?:[\w.-]+:)?ServerIndex\s[^>]*?\bhostName\s*=\s*\"([^\"]*)\"")
_SERVER_ENTRY_NAME = re.compile(r"<serverEntries\s[^>]*?\bserverName\s*=\s*\"([^\"]*)\"")


def parse_server_index(text: str) -> tuple[str | None, list[str]]:
    """A node's serverindex.xml: the host the node runs on and its servers.

    >>> parse_server_index('<serverindex:ServerIndex xmi:id="S" hostName="was1.example.com">'
    ...     '<serverEntries serverName="server1" serverType="APPLICATION_SERVER"/>')
    ('was1.example.com', ['server1'])
    """
    host = _SERVER_INDEX_HOST.search(text)
    servers = [unescape(name) for name in _SERVER_ENTRY_NAME.findall(text)]
    return (unescape(host.group(1)).strip() or None) if host else None, servers


def cell_fleet(ctx: Context, layout: Layout) -> list[FleetMember]:
    """One FleetMember per (cell, host): the nodes on that host and their
    servers (as node/server), found in any of the chosen profiles."""
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    for profile in layout.profiles:
        pattern = f"{glob.escape(profile.path)}/config/cells/*/nodes/*/serverindex.xml"
        for index in ctx.glob(pattern):
            parts = index.split("/")
            cell, node = parts[-4], parts[-2]
            host, servers = parse_server_index(ctx.read_text(index) or "")
            if host is None:
                continue
            entry = found.setdefault((cell, host), {"nodes": [], "servers": []})
            entry["nodes"].append(node)
            entry["servers"] += [f"{node}/{server}" for server in servers]
    return [
        FleetMember(
            host=host,
            group=cell,
            host_vars={
                "websphere_nodes": sorted(set(entry["nodes"])),
                "websphere_servers": sorted(set(entry["servers"])),
            },
            group_vars={"websphere_cell": cell},
        )
        for (cell, host), entry in sorted(found.items())
    ]


# --- specs ------------------------------------------------------------------------------


def command_name(kind: str, install: str) -> str:
    """The spec name of an installation's command (also its file name in the bundle)."""
    return f"{kind}_{slug(install)}"


def ffdc_name(profile: str) -> str:
    return f"ffdc_{slug(profile)}"


def install_specs(ctx: Context, install: str, owner: str | None) -> Iterator[Spec]:
    for kind, script, option in (
        ("versionInfo", "versionInfo.sh", "-maintenancePackages"),
        ("listProfiles", "manageprofiles.sh", "-listProfiles"),
    ):
        # By absolute path (bin/ is rarely on PATH), mapped through the sysroot:
        # the runner resolves an absolute command path on this machine.
        executable = str(ctx.host.path(f"{install}/bin/{script}"))
        yield CommandSpec(
            name=command_name(kind, install),
            argv=(executable, option),
            timeout=180.0,
            run_as=owner,
        )
    yield FileSpec(path=f"{install}/properties/profileRegistry.xml")
    yield GlobSpec(
        name=f"product_files_{slug(install)}", pattern=f"{install}/properties/version/*.product"
    )


def profile_specs(profile: Profile) -> Iterator[Spec]:
    tag = slug(profile.name)
    yield GlobSpec(name=f"{tag}_client_props", pattern=f"{profile.path}/properties/*.client.props")
    for folder in profile.cell_dirs:
        where = f"{tag}_{slug(folder.rsplit('/', 1)[-1])}"
        yield FileSpec(name=f"{where}_security", path=f"{folder}/security.xml")
        yield FileSpec(name=f"{where}_resources", path=f"{folder}/resources.xml")
        yield from _keystores(where, folder)
    for folder in profile.node_dirs:
        where = f"{tag}_{slug(folder.split('/cells/', 1)[-1])}"
        yield FileSpec(name=f"{where}_serverindex", path=f"{folder}/serverindex.xml")
        yield FileSpec(name=f"{where}_resources", path=f"{folder}/resources.xml")
        yield from _keystores(where, folder)
    for server in profile.servers:
        yield from server_specs(f"{tag}_{slug(server.node)}_{slug(server.name)}", server)
    ffdc = f"{profile.path}/logs/ffdc"
    yield FactSpec(name=ffdc_name(profile.name), collect=functools.partial(ffdc_listing, ffdc))
    yield GlobSpec(name=f"{tag}_ffdc_newest", pattern=f"{ffdc}/*", newest=NEWEST_FFDC)


def _keystores(where: str, folder: str) -> Iterator[Spec]:
    for pattern in KEYSTORE_GLOBS:
        yield GlobSpec(name=f"{where}_keystores_{pattern[2:]}", pattern=f"{folder}/{pattern}")


def server_specs(prefix: str, server: Server) -> Iterator[Spec]:
    yield FileSpec(name=f"{prefix}_server", path=f"{server.config_dir}/server.xml")
    yield FileSpec(name=f"{prefix}_resources", path=f"{server.config_dir}/resources.xml")
    logs = server.log_dir
    for log in ("SystemOut", "SystemErr"):
        yield LogSpec(
            name=f"{prefix}_{log}",
            pattern=f"{logs}/{log}*.log",
            format=SYSTEM_OUT,
            newest=NEWEST_LOGS,
        )
    for log in ("startServer", "stopServer"):
        yield LogSpec(name=f"{prefix}_{log}", pattern=f"{logs}/{log}.log", format=SYSTEM_OUT)
    # JVM output without record headers (verbose GC, dump notices): its tail.
    yield FileSpec(
        name=f"{prefix}_native_stderr",
        path=f"{logs}/native_stderr.log",
        max_size=NATIVE_STDERR_CAP,
    )


# --- the layout document (a FactSpec: read at collection time) -------------------------


def observe(layout: Layout, host: Host) -> dict[str, Any]:
    """The layout specs() found, with each server's state as of now."""
    installs = [
        {
            "path": install,
            "version_info": command_name("versionInfo", install),
            "list_profiles": command_name("listProfiles", install),
            "run_as": layout.owners.get(install),
            "product_file": parse_product_file(
                _read(host, f"{install}/properties/version/WAS.product")
            ),
        }
        for install in layout.installs
    ]
    profiles = []
    for profile in layout.profiles:
        document = asdict(profile)
        document["servers"] = [
            {**asdict(server), **server_state(host, server)} for server in profile.servers
        ]
        profiles.append(document)
    return {
        "installs": installs,
        "profiles": profiles,
        "profiles_found": layout.profiles_found,
        "requested_profile": layout.requested_profile,
    }


def server_state(host: Host, server: Server) -> dict[str, Any]:
    """running / stopped / unknown, from <logs>/<server>.pid and /proc: a server
    writes its pid file at start and removes it at a clean stop."""
    state: dict[str, Any] = {
        "pid": None,
        "last_start": parse_last_event(_tail(host, f"{server.log_dir}/startServer.log"), STARTED),
        "last_stop": parse_last_event(_tail(host, f"{server.log_dir}/stopServer.log"), STOPPED),
    }
    if not host.path(server.log_dir).is_dir():
        return {**state, "state": "unknown", "state_reason": "no log folder: never started here"}
    pid_text = _read(host, f"{server.log_dir}/{server.name}.pid")
    if pid_text is None or not pid_text.strip().isdecimal():
        reason = "no pid file (removed at a clean stop)"
        return {**state, "state": "stopped", "state_reason": reason}
    pid = int(pid_text.strip())
    state["pid"] = pid
    if not host.path("/proc").is_dir():
        reason = f"pid file names process {pid}; the process table is not visible"
        return {**state, "state": "unknown", "state_reason": reason}
    cmdline = _read_bytes(host, f"/proc/{pid}/cmdline")
    if cmdline is None:
        reason = f"stale pid file: process {pid} is gone (ended without a clean stop)"
        return {**state, "state": "stopped", "state_reason": reason}
    if server.name.encode() not in cmdline.split(b"\0"):
        reason = f"stale pid file: process {pid} is not this server"
        return {**state, "state": "stopped", "state_reason": reason}
    return {**state, "state": "running", "state_reason": f"process {pid} is this server"}


def ffdc_listing(folder: str, host: Host) -> dict[str, Any]:
    """Names, sizes and times of the FFDC incident files, newest first."""
    entries = []
    try:
        with os.scandir(host.path(folder)) as found:
            for entry in found:
                if entry.is_file(follow_symlinks=False):
                    status = entry.stat(follow_symlinks=False)
                    entries.append((status.st_mtime, entry.name, status.st_size))
    except FileNotFoundError:
        return {"folder": folder, "exists": False, "count": 0, "files": []}
    entries.sort(reverse=True)
    files = [
        {"name": name, "size": size, "mtime": datetime.fromtimestamp(mtime, UTC).isoformat()}
        for mtime, name, size in entries[:FFDC_LISTED]
    ]
    return {"folder": folder, "exists": True, "count": len(entries), "files": files}


def _read_bytes(host: Host, path: str, limit: int = 64 * 1024) -> bytes | None:
    try:
        with host.path(path).open("rb") as stream:
            return stream.read(limit)
    except OSError:
        return None


def _read(host: Host, path: str) -> str | None:
    data = _read_bytes(host, path)
    return None if data is None else data.decode("utf-8", errors="replace")


def _tail(host: Host, path: str) -> bytes:
    try:
        with host.path(path).open("rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(0, size - TAIL_BYTES))
            return stream.read()
    except OSError:
        return b""


# --- facts (from what was collected; the parsers are in websphere_parse) -------------


def install_facts(
    install: dict[str, Any], version_info: str | None, list_profiles: str | None
) -> dict[str, Any]:
    """One installation: from versionInfo.sh, or from WAS.product when it did not run."""
    report = parse_version_info(version_info or "")
    product = _primary_product(report["products"])
    source: str | None = "versionInfo.sh"
    if product is None and install.get("product_file"):
        found = install["product_file"]
        product = {key: found.get(key) for key in ("name", "version", "id", "build_level")}
        product["build_date"] = found.get("build_date")
        source = "WAS.product"
    elif product is None:
        source = None
    product = product or {}
    version = product.get("version")
    return {
        "install_path": install["path"],
        "product": product.get("name"),
        "version": version,
        "fix_pack": version.rsplit(".", 1)[-1] if version and version.count(".") == 3 else None,
        "edition": product.get("id"),
        "build_level": product.get("build_level"),
        "build_date": product.get("build_date"),
        "version_source": source,
        "installed_products": [_product_facts(p) for p in report["products"]],
        "maintenance_packages": report["maintenance_packages"],
        "profiles_listed": parse_list_profiles(list_profiles),
    }


def _primary_product(products: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The application server itself, not its optional SDK."""
    for product in products:
        if "Application Server" in product.get("name", ""):
            return product
    return products[0] if products else None


def _product_facts(product: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "version", "id", "build_level", "build_date", "package", "architecture")
    facts = {key: product.get(key) for key in keys}
    facts["installed_features"] = product.get("installed_features", [])
    return facts


def build_facts(
    layout: dict[str, Any], installs: list[dict[str, Any]], ffdc: dict[str, Any]
) -> dict[str, Any]:
    primary = installs[0] if installs else {}
    profiles = [_profile_facts(p, ffdc.get(p["name"])) for p in layout.get("profiles", [])]
    servers = [server for profile in profiles for server in profile["servers"]]
    requested = layout.get("requested_profile")
    packages = primary.get("maintenance_packages", [])
    return {
        "product": primary.get("product"),
        "version": primary.get("version"),
        "fix_pack": primary.get("fix_pack"),
        "edition": primary.get("edition"),
        "build_level": primary.get("build_level"),
        "build_date": primary.get("build_date"),
        "install_path": primary.get("install_path"),
        "maintenance_packages": [p.get("maintenance_package_id") for p in packages],
        "installations": installs,
        "profiles": profiles,
        "profiles_found": layout.get("profiles_found", 0),
        "profile_selection": None
        if requested is None
        else {"requested": requested, "found": any(p["name"] == requested for p in profiles)},
        "cells": sorted({server["cell"] for server in servers}),
        "nodes": sorted({f"{server['cell']}/{server['node']}" for server in servers}),
        "log_paths": [server["log_dir"] for server in servers]
        + [profile["ffdc"]["folder"] for profile in profiles],
    }


def _profile_facts(profile: dict[str, Any], ffdc: dict[str, Any] | None) -> dict[str, Any]:
    keys = ("name", "cell", "node", "state", "state_reason", "pid", "last_start", "last_stop")
    ffdc = ffdc or {"folder": f"{profile['path']}/logs/ffdc", "count": None, "files": []}
    newest = ffdc["files"][0] if ffdc["files"] else None
    return {
        "name": profile["name"],
        "path": profile["path"],
        "install_path": profile["install_path"],
        "template": profile["template"],
        "type": PROFILE_TYPES.get(profile["template"] or "", profile["template"]),
        "is_default": profile["is_default"],
        "cell": profile["cell"],
        "node": profile["node"],
        "servers": [
            {**{key: server.get(key) for key in keys}, "log_dir": server["log_dir"]}
            for server in profile["servers"]
        ],
        "servers_not_collected": profile["servers_not_collected"],
        "ffdc": {"folder": ffdc["folder"], "count": ffdc["count"], "newest": newest},
    }
