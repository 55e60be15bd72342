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

SystemOut.log format (basic mode)::

    [11/3/17 13:05:22:917 CET] 00000001 WsServerImpl  A   WSVR0001I: Server server1 open

`[date time zone] thread-id short-logger-name type message`, the type being an
event letter (A audit, I info, W warning, E error, F fatal, O System.out,
R System.err, Z unknown, D detail, C config). A record runs until the next
header line: stack traces are its continuation lines.

The date follows the server JVM's locale: `M/d/yy` (en_US) is the common case,
others write `dd/MM/yy` (en_GB, fr, it), `dd.MM.yy` (de, ru), `d-M-yy` (nl),
`yy/MM/dd` (ja), `yy-M-d` (zh), `yyyy/M/d` (zh_TW). A slashed date whose first
field is 12 or less is read as `M/d/yy`: a `dd/MM/yy` record whose day is 12 or
less cannot be told from it, an ambiguity of the format itself. Any other date
is read day first or year first, whichever is valid and latest without being
in the future (`24/05/13` is 13 May 2024, `13/05/24` is 13 May 2024 as well):
the logs collected are recent, and a two-digit day read as a year is either a
past year or a future one. The zone is an abbreviation: the unambiguous ones
map to fixed offsets, `GMT+hh:mm` is read as written, and anything else (IST,
BST, or the host's own zone name, which also covers China's CST) is the host's
local time.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import unescape

from collector.findings import BundleView, Finding, recent_records
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.logwindow import LogFormat, Record, aware, iter_records
from collector.plugin import Applicability, Collected, Context, Plugin
from collector.redact import SECRET_KEY, make_rule, mask_secret_value
from collector.spec import CommandSpec, FactSpec, FileSpec, GlobSpec, LogSpec, Spec, slug

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
    ),
    # The same with value= before name=.
    make_rule(
        "websphere_custom_property_reversed",
        b"".join((rb"(?P<lead>\bvalue", _IS, rb"(?P<v>[\"']))"))
        + _SECRET_VALUE
        + b"".join((rb"(?P<trail>(?P=v)", _SAME_TAG, _SECRET_NAME, rb")")),
        mask_secret_value,
        _SECRET_TRIGGERS,
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


# --- parsers: pure functions from text to data ------------------------------------------

_ATTRIBUTE = re.compile(r"([\w:.-]+)\s*=\s*\"([^\"]*)\"")
_PROFILE_TAG = re.compile(r"<profile\s[^>]*>")


def parse_profile_registry(text: str) -> list[dict[str, Any]]:
    """profileRegistry.xml: name, path, template and default flag of each profile
    (reservation tickets, for profiles still being created, are left out).

    >>> parse_profile_registry('<profiles><profile isDefault="true" name="AppSrv01" '
    ...     'path="/p/AppSrv01" template="/t/profileTemplates/default"/></profiles>')
    [{'name': 'AppSrv01', 'path': '/p/AppSrv01', 'template': 'default', 'is_default': True}]
    """
    profiles = []
    for tag in _PROFILE_TAG.findall(text):
        attributes = {key: unescape(value) for key, value in _ATTRIBUTE.findall(tag)}
        if attributes.get("isAReservationTicket") == "true" or "name" not in attributes:
            continue
        template = attributes.get("template", "").rstrip("/").rsplit("/", 1)[-1]
        profiles.append(
            {
                "name": attributes["name"],
                "path": attributes.get("path", "").rstrip("/"),
                "template": template or None,
                "is_default": attributes.get("isDefault") == "true",
            }
        )
    return profiles


_SETUP_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+)?(WAS_CELL|WAS_NODE|USER_INSTALL_ROOT)=\"?([^\"\s$;]+)\"?", re.MULTILINE
)


def parse_setup_cmd_line(text: str) -> dict[str, str]:
    """The literal WAS_CELL / WAS_NODE / USER_INSTALL_ROOT of a profile's
    bin/setupCmdLine.sh.

    >>> parse_setup_cmd_line('WAS_CELL=cell01\\nexport WAS_CELL\\nWAS_NODE=node01\\n')
    {'WAS_CELL': 'cell01', 'WAS_NODE': 'node01'}
    """
    return {match.group(1): match.group(2) for match in _SETUP_ASSIGNMENT.finditer(text)}


def parse_product_file(text: str | None) -> dict[str, str] | None:
    """properties/version/WAS.product: `<product name=..><id/><version/><build-info/>`.

    >>> parse_product_file('<product name="IBM WebSphere Application Server - ND">'
    ...     '<id>ND</id><version>9.0.5.14</version>'
    ...     '<build-info date="11/28/22" level="cf142247.02"/></product>')["build_level"]
    'cf142247.02'
    """
    if not text or "<product" not in text:
        return None
    found = {}
    name = re.search(r"<product\s+name=\"([^\"]*)\"", text)
    if name:
        found["name"] = unescape(name.group(1))
    for tag in ("id", "version"):
        value = re.search(rf"<{tag}>\s*([^<]*?)\s*</{tag}>", text)
        if value:
            found[tag] = value.group(1)
    build = re.search(r"<build-info\s[^>]*>", text)
    for key, value in _ATTRIBUTE.findall(build.group(0) if build else ""):
        if key in ("date", "level"):
            found[f"build_{key}"] = value
    return found or None


_RULE_LINE = re.compile(r"^-{20,}\s*$")
_FIELD = re.compile(r"^(\S.*?)\s{2,}(\S.*?)\s*$")
_CONTINUED = re.compile(r"^\s{8,}(\S.*?)\s*$")
_REPORTER = re.compile(r"WVER0012I: VersionInfo reporter version (\S+),")
_MULTI_VALUED = {"installed_features"}


def parse_version_info(text: str) -> dict[str, Any]:
    """`versionInfo.sh [-maintenancePackages]`: sections of a title line, a dashed
    rule, `Key   value` lines and indented continuation values.

    Returns product_directory, report_time, reporter_version, product_list
    ({id: status}), products (one per "Installed Product") and
    maintenance_packages (one per "Installed Maintenance Package"), with keys in
    snake case ("Build Level" -> build_level). Lines outside the report (JVM
    notices) are ignored."""
    result: dict[str, Any] = {"products": [], "maintenance_packages": [], "product_list": {}}
    lines = text.splitlines()
    section: dict[str, Any] | None = None
    title = last_key = ""
    for number, line in enumerate(lines):
        if _RULE_LINE.match(line):
            continue
        if line.strip() and number + 1 < len(lines) and _RULE_LINE.match(lines[number + 1]):
            title, section, last_key = line.strip(), {}, ""
            if title == "Installed Product":
                result["products"].append(section)
            elif title == "Installed Maintenance Package":
                result["maintenance_packages"].append(section)
            continue
        if line.startswith("Report at date and time "):
            result["report_time"] = line.removeprefix("Report at date and time ").strip()
        if reporter := _REPORTER.search(line):
            result["reporter_version"] = reporter.group(1)
        continued = _CONTINUED.match(line)
        if continued and section is not None and last_key in _MULTI_VALUED:
            section[last_key].append(continued.group(1))
            continue
        pair = _FIELD.match(line)
        if pair is None or section is None:
            continue
        label, value = pair.group(1).strip(), pair.group(2)
        key = re.sub(r"\W+", "_", label.lower()).strip("_")
        if title == "Product List":
            result["product_list"][label] = value
        elif title == "Installation" and key == "product_directory":
            result["product_directory"] = value
        section[key] = [value] if key in _MULTI_VALUED else value
        last_key = key
    return result


def parse_list_profiles(text: str | None) -> list[str] | None:
    """`manageprofiles.sh -listProfiles` prints Java's list form.

    >>> parse_list_profiles("[Dmgr01, AppSrv01]\\n")
    ['Dmgr01', 'AppSrv01']
    """
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            inner = line[1:-1].strip()
            return [name.strip() for name in inner.split(",")] if inner else []
    return None


STARTED = re.compile(r"ADMU3000I: Server (\S+) open for e-business; process id is (\d+)")
STOPPED = re.compile(r"ADMU4000I: Server (\S+) stop completed")


def parse_last_event(data: bytes, event: re.Pattern[str]) -> dict[str, Any] | None:
    """The last start (ADMU3000I, with its process id) or stop (ADMU4000I) of a
    startServer.log / stopServer.log."""
    last = None
    for record in parse_log(data):
        match = event.search(record.text)
        if match:
            last = record, match
    if last is None:
        return None
    record, match = last
    found: dict[str, Any] = {
        "time": record.timestamp.isoformat() if record.timestamp else None,
        "server": match.group(1),
    }
    if event.groups >= 2:
        found["pid"] = int(match.group(2))
    return found


# --- the SystemOut.log format -----------------------------------------------------------

ZONE_OFFSETS = {  # minutes east of UTC, for abbreviations that name one zone only
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 60,
    "CET": 60, "CEST": 120, "MET": 60, "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "JST": 540, "KST": 540, "SGT": 480, "HKT": 480,
    "AEST": 600, "AEDT": 660, "ACST": 570, "ACDT": 630, "AWST": 480, "NZST": 720, "NZDT": 780,
}  # fmt: skip
_NUMERIC_ZONE = re.compile(r"^(?:GMT|UTC)([+-])(\d{1,2}):?(\d{2})?$")
_HEADER = re.compile(
    rb"^\[(\d{1,4})([/.-]) ?(\d{1,2})[/.-] ?(\d{1,4}),? (\d{1,2}):(\d{2}):(\d{2})[:.,](\d{1,3})"
    rb"(?: ([^\]\s]+))?\] "
)
# After the header: thread id, short logger name, event type, message.
_BASIC = re.compile(r"^([0-9A-Fa-f]+) +(\S+) +([A-Z1-3<>])(?: (.*))?$")
# The advanced format: thread id, event type, UOW=... source=...; message on the next line.
_ADVANCED = re.compile(r"^([0-9A-Fa-f]+) ([A-Z1-3<>]) UOW=")
MESSAGE_ID = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]{2,4}\d{4}[A-Z])(?=:)")


def log_time(header: re.Match[bytes]) -> datetime | None:
    """The aware time of a SystemOut header, or None for an impossible date."""
    first, separator, second, third, hour, minute, sec, milli, zone = header.groups()
    a, b, c = int(first), int(second), int(third)
    if len(first) == 4:
        readings = [(a, b, c)]  # yyyy/M/d
    elif separator == b"/" and a <= 12:
        readings = [(c, a, b)]  # M/d/yy
    else:
        readings = [(c, b, a), (a, b, c)]  # d/M/yy, yy/MM/dd
    clock = (int(hour), int(minute), int(sec), int(milli.ljust(3, b"0")) * 1000)
    dates = [moment for moment in (_date(r, clock) for r in readings) if moment is not None]
    if not dates:
        return None
    latest = _now() + timedelta(days=1)
    past = [moment for moment in dates if moment <= latest]
    moment = max(past) if past else min(dates)
    return _zoned(moment, zone.decode("ascii", errors="replace") if zone else "")


def _date(ymd: tuple[int, int, int], clock: tuple[int, int, int, int]) -> datetime | None:
    year, month, day = ymd
    hour, minute, second, micro = clock
    try:
        return datetime(
            year + 2000 if year < 100 else year, month, day, hour, minute, second, micro
        )
    except ValueError:
        return None


def _now() -> datetime:
    """Naive local now, the bound of a plausible log date."""
    return datetime.now()


def _zoned(moment: datetime, zone: str) -> datetime:
    numeric = _NUMERIC_ZONE.match(zone)
    if numeric:
        minutes = int(numeric.group(2)) * 60 + int(numeric.group(3) or 0)
        sign = -1 if numeric.group(1) == "-" else 1
        if minutes < 24 * 60:  # a zone of a day or more is garbage: take local time
            return moment.replace(tzinfo=timezone(timedelta(minutes=sign * minutes)))
        return aware(moment)
    # The host's own zone name means the host's zone (China's CST, not Chicago's).
    if zone in ZONE_OFFSETS and zone != aware(moment).tzname():
        return moment.replace(tzinfo=timezone(timedelta(minutes=ZONE_OFFSETS[zone])))
    return aware(moment)


def _decode(raw: bytes) -> str:
    """UTF-8, else Latin-1: a JVM writes in its file.encoding, and Latin-1 keeps
    every byte (text.encode("latin-1") gives the bytes back)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class SystemOutFormat(LogFormat):
    """SystemOut.log, SystemErr.log, startServer.log and stopServer.log."""

    name = "websphere-systemout"
    record_start = _HEADER

    def timestamp(self, header: re.Match[bytes], stream: BinaryIO, offset: int) -> datetime | None:
        return log_time(header)

    def parse(self, offset: int, raw: bytes, timestamp: datetime | None) -> Record:
        text = _decode(raw).rstrip("\r\n")
        header = _HEADER.match(raw)
        if header is None:  # what precedes the first record: the environment banner
            return Record(offset, timestamp, None, None, text)
        first, _, rest = _decode(raw[header.end() :]).partition("\n")
        first = first.rstrip("\r")
        advanced = _ADVANCED.match(first)
        basic = None if advanced else _BASIC.match(first)
        if advanced:
            level, message = advanced.group(2), rest.partition("\n")[0]
        elif basic:
            level, message = basic.group(3), basic.group(4) or ""
        else:
            level, message = None, first
        found = MESSAGE_ID.search(message)
        return Record(offset, timestamp, level, found.group(1) if found else None, text)


SYSTEM_OUT = SystemOutFormat()


def parse_log(data: bytes) -> Iterator[Record]:
    """The records of SystemOut-format bytes; the banner before the first header,
    if any, is a record without a timestamp."""
    yield from iter_records(io.BytesIO(data), SYSTEM_OUT)


# --- facts -------------------------------------------------------------------------------


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


# --- findings (engineer side: read from a bundle, never from the host) ------------

ERROR_LEVELS = ("E", "F")  # SystemOut event types: error, fatal


def servers_not_running(bundle: BundleView) -> list[Finding]:
    """websphere.server_not_running: a server whose pid file and the process
    table said it was stopped when the bundle was made."""
    found = []
    for p, profile in enumerate(bundle.facts("websphere").get("profiles") or []):
        for s, server in enumerate(profile.get("servers") or []):
            if server.get("state") != "stopped":
                continue
            found.append(
                Finding(
                    "websphere.server_not_running",
                    "medium",
                    f"server {server.get('name')} of profile {profile.get('name')} is not "
                    f"running: {server.get('state_reason') or 'stopped'}",
                    f"manifest.json#/facts/websphere/profiles/{p}/servers/{s}",
                )
            )
    return found


def recent_errors(bundle: BundleView) -> list[Finding]:
    """websphere.recent_errors: E (error) and F (fatal) entries in the 24 hours
    before the bundle was made, one finding per log."""
    found = []
    for log, records in recent_records(bundle, "websphere", ERROR_LEVELS):
        ids = Counter(r.message_id or "(no message id)" for r in records)
        listed = ", ".join(f"{message} x{n}" for message, n in ids.most_common(5))
        fatal = any(r.level == "F" for r in records)
        message = f"{len(records)} E/F entries in the 24 h before collection: {listed}"
        found.append(
            Finding("websphere.recent_errors", "high" if fatal else "medium", message, log)
        )
    return found


# Set after the class body: the format class is defined further down.
WebSphere.log_formats = (SystemOutFormat,)
