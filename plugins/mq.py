"""mq: IBM MQ (formerly WebSphere MQ) installations and queue managers.

Collects what IBM MQ support asks for first: `dspmqver` (version, fix pack, build
level, license) and `dspmq -x -o all` (queue managers, their state and
instances); the registries mqs.ini (queue managers) and mqinst.ini
(installations) and the client configuration mqclient.ini; each queue manager's
qm.ini; the system and per-queue-manager error logs AMQERR01-03.LOG cut to the
time window; a listing of the FDC (First Failure Data Capture) files with the
newest few; and the MQ Console/REST configuration mqwebuser.xml.

Safe to send: the TLS key repositories under each queue manager's ssl/ folder
(key.kdb, key.sth, key.rdb, key.crl, key.p12) are only named, so the manifest
shows whether a stash file exists, and the core's secret-file denylist refuses
to read them. mqwebuser.xml and mqclient.ini pass the central redactor
(password attributes, {xor}/{aes} values) plus this plugin's rule for the
GSK_PKCS11 token password. Error logs and FDC files hold no credentials; their
bytes are copied as they are, whatever their code page.

This module holds the plugin and how it finds what to collect (queue managers,
installations, specs, the FDC listing and its summary); the parsers, the AMQERR
log format, the other facts helpers and the findings rules are in
plugins/mq_parse.py.
"""

from __future__ import annotations

import glob
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from collector.findings import BundleView, Finding
from collector.host import Host
from collector.lifecycle import end_of_support_finding
from collector.plugin import Collected, Context, Plugin
from collector.redact import MASK, Rule
from collector.spec import CommandSpec, FactSpec, FileSpec, GlobSpec, LogSpec, Spec

from .mq_parse import (
    AMQERR,
    AmqerrFormat,
    installations,
    parse_dspmq,
    parse_dspmqver,
    parse_fdc_header,
    parse_mq_ini,
    product_facts,
    queue_manager_facts,
    queue_managers_not_running,
    recent_errors,
    stanza,
)

DATA_ROOT = "/var/mqm"
MQS_INI = "/var/mqm/mqs.ini"
MQINST_INI = "/etc/opt/mqm/mqinst.ini"
MQCLIENT_INI = "/var/mqm/mqclient.ini"
SYSTEM_ERRORS = "/var/mqm/errors"
ERROR_LOGS = "AMQERR0[1-3].LOG"
MQWEBUSER_XML = "/var/mqm/web/installations/*/servers/mqweb/mqwebuser.xml"
INSTALL_PATHS = ("/opt/mqm", "/usr/mqm")  # Linux, AIX
MAX_QMGRS = 10
NEWEST_FDCS = 3
MAX_FDCS_LISTED = 200
FDC_HEAD = 8 * 1024
# The files of a GSKit / PKCS#12 key repository: named in the manifest, never read.
KEY_REPOSITORY_SUFFIXES = frozenset({".kdb", ".sth", ".rdb", ".crl", ".p12"})

# SSLCryptoHardware=GSK_PKCS11=<driver>;<token label>;<token password>;<cipher>;
# (mqclient.ini, qm.ini): no key name says "password", so the baseline misses it.
GSK_PKCS11_PASSWORD = Rule(
    "mq_gsk_pkcs11_password",
    re.compile(
        rb"(?P<lead>GSK_PKCS11=[^;\n]*;[^;\n]*;)(?P<val>(?!\*{8})[^;\n]+)(?P<trail>;)",
        re.IGNORECASE,
    ),
    lambda m: m.group("lead") + MASK + m.group("trail"),
    (b"gsk_pkcs11",),
    examples=(
        (
            b"SSLCryptoHardware=GSK_PKCS11=/usr/lib/p11.so;tok;t0k pw;SYMMETRIC_CIPHER_ON;\n",
            b"SSLCryptoHardware=GSK_PKCS11=/usr/lib/p11.so;tok;********;SYMMETRIC_CIPHER_ON;\n",
        ),
    ),
    keeps=(b"SSLCryptoHardware=\n",),
)


def mangle(qmgr: str) -> str:
    """The directory MQ makes of a queue manager name on UNIX (QM.1 -> QM!1)."""
    return qmgr.replace(".", "!").replace("/", "&")


@dataclass(frozen=True)
class QueueManagerEntry:
    """One QueueManager stanza of mqs.ini: where its files are."""

    name: str
    directory: str
    data_path: str
    installation: str | None = None


def queue_managers_from_mqs_ini(text: str) -> list[QueueManagerEntry]:
    stanzas = parse_mq_ini(text)
    prefix = stanza(stanzas, "AllQueueManagers").get("DefaultPrefix") or DATA_ROOT
    found = []
    for name, values in stanzas:
        if name != "QueueManager" or not values.get("Name"):
            continue
        directory = values.get("Directory") or mangle(values["Name"])
        data_path = values.get("DataPath") or (
            f"{(values.get('Prefix') or prefix).rstrip('/')}/qmgrs/{directory}"
        )
        found.append(
            QueueManagerEntry(
                values["Name"], directory, data_path.rstrip("/"), values.get("InstallationName")
            )
        )
    return found


@dataclass(frozen=True)
class Selection:
    """The queue managers this run collects, and the ones it leaves out."""

    selected: list[QueueManagerEntry]
    omitted: list[str] = field(default_factory=list)
    requested: str | None = None

    def document(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "selected": [asdict(entry) for entry in self.selected],
            "omitted": self.omitted,
        }


def choose_queue_managers(ctx: Context) -> Selection:
    """`--qmgr NAME`, else every queue manager in mqs.ini (at most MAX_QMGRS)."""
    known = queue_managers_from_mqs_ini(ctx.read_text(MQS_INI) or "")
    requested = ctx.selection.get("qmgr")
    if requested:
        match = [entry for entry in known if entry.name == requested]
        fallback = QueueManagerEntry(
            requested, mangle(requested), f"{DATA_ROOT}/qmgrs/{mangle(requested)}"
        )
        return Selection(match[:1] or [fallback], requested=requested)
    return Selection(known[:MAX_QMGRS], [entry.name for entry in known[MAX_QMGRS:]])


def mq_command(ctx: Context, command: str) -> str:
    """The command by name when it is on PATH (the primary installation), else
    from an installation's bin folder; only on the live host, never an image."""
    if ctx.host.which(command) or ctx.host.sysroot != Path("/"):
        return command
    candidates = [ctx.host.env.get("MQ_INSTALLATION_PATH", "")]
    installs = parse_mq_ini(ctx.read_text(MQINST_INI) or "")
    candidates += [
        values.get("FilePath", "") for name, values in installs if name == "Installation"
    ]
    for folder in [*candidates, *INSTALL_PATHS]:
        if folder and ctx.host.path(f"{folder}/bin/{command}").is_file():
            return f"{folder}/bin/{command}"
    return command


class MQ(Plugin):
    name = "mq"
    log_formats = (AmqerrFormat,)
    description = "IBM MQ: version, installations, queue managers, error logs and FDC files"
    commands = ("dspmqver", "dspmq")
    paths = ("/opt/mqm/bin/dspmqver", "/usr/mqm/bin/dspmqver", MQS_INI, MQINST_INI)
    env_vars = ("MQ_INSTALLATION_PATH",)
    budget = 120.0
    redaction_rules = (GSK_PKCS11_PASSWORD,)

    def specs(self, ctx: Context) -> list[Spec]:
        chosen = choose_queue_managers(ctx)
        specs: list[Spec] = [
            CommandSpec(name="dspmqver", argv=(mq_command(ctx, "dspmqver"),)),
            dspmq_spec(ctx, chosen),
            FileSpec(name="mqs.ini", path=MQS_INI),
            FileSpec(name="mqinst.ini", path=MQINST_INI),
            FileSpec(name="mqclient.ini", path=MQCLIENT_INI),
            LogSpec(name="errors", pattern=f"{SYSTEM_ERRORS}/{ERROR_LOGS}", format=AMQERR),
            FactSpec(name="fdc_listing", collect=fdc_listing),
            GlobSpec(name="fdc_newest", pattern=f"{SYSTEM_ERRORS}/*.FDC", newest=NEWEST_FDCS),
            GlobSpec(name="mqwebuser.xml", pattern=MQWEBUSER_XML),
            FactSpec(name="queue_managers", collect=lambda _host: chosen.document()),
        ]
        for entry in chosen.selected:
            specs += queue_manager_specs(ctx, entry)
        return specs

    def snapshot_specs(self, ctx: Context) -> list[Spec]:
        """The queue managers' states (`dspmq`): running, ended, standby..."""
        chosen = choose_queue_managers(ctx)
        return [
            dspmq_spec(ctx, chosen),
            FactSpec(name="queue_managers", collect=lambda _host: chosen.document()),
        ]

    def facts(self, collected: Collected) -> dict[str, Any]:
        version = parse_dspmqver(collected.text("dspmqver") or "")
        running = parse_dspmq(collected.text("dspmq") or "")
        mqs = parse_mq_ini(collected.text("mqs.ini") or "")
        plan = collected.json("queue_managers") or {}
        product = product_facts(version, running)
        default = stanza(mqs, "DefaultQueueManager").get("Name")
        default = default or next((q["name"] for q in running if q["default"]), None)
        return {
            **product,
            "installations": installations(collected.text("mqinst.ini"), version),
            "default_qmgr": default,
            "queue_managers": queue_manager_facts(plan.get("selected", []), running, collected),
            "queue_managers_omitted": plan.get("omitted", []),
            "error_log_dir": SYSTEM_ERRORS,
            "fdc": fdc_facts(collected.json("fdc_listing")),
        }

    def findings(self, bundle: BundleView) -> list[Finding]:
        found = [end_of_support_finding(bundle, self.name)]
        found += queue_managers_not_running(bundle) + recent_errors(bundle)
        return [finding for finding in found if finding is not None]


def dspmq_spec(ctx: Context, chosen: Selection) -> Spec:
    only = ("-m", chosen.requested) if chosen.requested else ()
    return CommandSpec(name="dspmq", argv=(mq_command(ctx, "dspmq"), *only, "-x", "-o", "all"))


def queue_manager_specs(ctx: Context, entry: QueueManagerEntry) -> list[Spec]:
    if not entry.data_path.startswith("/"):
        return []  # a relative Prefix in a hand-edited mqs.ini: nowhere to look
    folder = glob.escape(entry.data_path)
    specs: list[Spec] = [
        FileSpec(name=f"qm.ini:{entry.name}", path=f"{entry.data_path}/qm.ini"),
        LogSpec(
            name=f"errors:{entry.name}", pattern=f"{folder}/errors/{ERROR_LOGS}", format=AMQERR
        ),
    ]
    # Named so the manifest shows whether key.kdb and its stash exist (AMQ9657
    # and friends); the core refuses to read them.
    for path in ctx.glob(f"{folder}/ssl/*"):
        if PurePosixPath(path).suffix.lower() in KEY_REPOSITORY_SUFFIXES:
            name = f"key_repository:{entry.name}:{PurePosixPath(path).name}"
            specs.append(FileSpec(name=name, path=path))
    return specs


def fdc_listing(host: Host) -> dict[str, Any]:
    """Names, sizes, times and probe headers of the FDC files, newest first."""
    found = []
    for path in host.path(SYSTEM_ERRORS).glob("*.FDC"):
        try:
            status = path.stat()
        except OSError:
            continue
        found.append((status.st_mtime, path, status.st_size))
    found.sort(key=lambda entry: entry[0], reverse=True)
    files = []
    for mtime, path, size in found[:MAX_FDCS_LISTED]:
        modified = datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        header = parse_fdc_header(_head(path))
        files.append(
            {
                "name": path.name,
                "size": size,
                "modified": modified,
                "probe_id": header.get("Probe Id"),
                "program": header.get("Program Name"),
                "qmgr": header.get("QueueManager"),
                "component": header.get("Component"),
                "description": header.get("Probe Description"),
            }
        )
    return {"directory": SYSTEM_ERRORS, "count": len(found), "files": files}


def _head(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            return stream.read(FDC_HEAD).decode("latin-1")
    except OSError:
        return ""


def fdc_facts(listing: Any) -> dict[str, Any]:
    listing = listing if isinstance(listing, dict) else {}
    keep = ("name", "modified", "probe_id", "program", "qmgr", "description")
    newest = [{k: f.get(k) for k in keep} for f in listing.get("files", [])[:NEWEST_FDCS]]
    return {
        "directory": listing.get("directory", SYSTEM_ERRORS),
        "count": listing.get("count", 0),
        "newest": newest,
    }
