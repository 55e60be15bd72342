"""The engineer's commands: `inspect`, `verify` and `extract` a bundle.

Every command opens the bundle with the safe reader (collector.bundle), which
refuses unsafe member names, links and bombs before anything is read. A
password is asked for only when the bundle turns out to be encrypted. Errors
become exit codes in collector.cli.main, as everywhere else.

`inspect` builds one document (the report) and shows it as a screen of text,
as JSON, or as one self-contained HTML file; everything taken from the bundle
is escaped in HTML, and the page loads nothing from anywhere.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from collector import lifecycle
from collector.bundle import Bundle, BundleError, PasswordNeeded, open_bundle
from collector.case import SEVERITIES
from collector.errors import BadInput, ExitStatus
from collector.findings import bundle_created
from collector.host import Host
from collector.logwindow import Record
from collector.password import PASSWORD_ENV, bundle_password

TOP_GROUPS = 10  # error groups per product in the report
SHOWN_GROUPS = 5  # ... and on the text screen
SHOWN_FINDINGS = 10
WIDTH = 110
# Control characters from a stranger's bundle could drive the engineer's terminal.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

VERIFY_EXIT_HELP = """\b
Exit codes:
  0  the bundle is intact
  1  problems found (each one is listed)
  2  unreadable or unsafe bundle, wrong or missing password, bad usage"""

EXIT_HELP = """\b
Exit codes:
  0  done
  2  unreadable or unsafe bundle, wrong or missing password, bad usage"""

password_option = click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"File whose first line is the bundle password (else ${PASSWORD_ENV}, else a "
    "prompt on a terminal); only read when the bundle is encrypted.",
)
bundle_argument = click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))


def register(cli: click.Group) -> None:
    """Add inspect, verify and extract to the pa-collect command group."""
    cli.add_command(inspect_command, "inspect")
    cli.add_command(verify_command, "verify")
    cli.add_command(extract_command, "extract")


def open_with_password(path: Path, password_file: Path | None) -> Bundle:
    """Open without a password; if the bundle says it is encrypted, get one
    (file, environment or prompt) and open again."""
    try:
        return open_bundle(path)
    except PasswordNeeded:
        pass
    host = Host.from_process()
    password = bundle_password(
        host,
        password_file,
        interactive=host.interactive,
        confirm=False,
        why=f"{path} is encrypted and needs its password",
    )
    try:
        return open_bundle(path, password)
    except BundleError as error:
        if "wrong password" in str(error):
            raise
        # With file names left unencrypted, a wrong password shows as damaged data.
        raise BundleError(f"{error} (wrong password?)") from None


# --- verify ------------------------------------------------------------------------


@click.command(epilog=VERIFY_EXIT_HELP)
@bundle_argument
@password_option
@click.pass_context
def verify_command(ctx: click.Context, bundle: Path, password_file: Path | None) -> None:
    """Check a bundle: manifest schema, every listed file present with its sha256,
    and no file the manifest does not list. Lists each problem found."""
    with open_with_password(bundle, password_file) as opened:
        problems = opened.verify()
        count = len(opened.files())
    for problem in problems:
        click.echo(CONTROL.sub("?", str(problem)))  # member names come from a stranger
    if problems:
        click.echo(f"{bundle}: {len(problems)} problem(s) found", err=True)
        ctx.exit(int(ExitStatus.PROBLEMS))
    click.echo(f"{bundle}: intact ({count} files; every sha256 matches the manifest)")


# --- extract -----------------------------------------------------------------------


@click.command(epilog=EXIT_HELP)
@bundle_argument
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Extract into a folder that is not empty.")
@password_option
def extract_command(bundle: Path, directory: Path, force: bool, password_file: Path | None) -> None:
    """Extract every file of a bundle under DIRECTORY (a new or empty folder).
    Unsafe names, links, special files and bombs are refused before writing."""
    if directory.exists() and any(directory.iterdir()) and not force:
        raise BadInput(f"{directory} is not empty (use --force to extract into it)")
    with open_with_password(bundle, password_file) as opened:
        refuse_links(directory, opened.files())
        written = opened.extract(directory)
    click.echo(f"Extracted {len(written)} files to {directory}")


def refuse_links(directory: Path, names: Iterable[str]) -> None:
    """A link already inside the target folder would send a file elsewhere."""
    for name in names:
        path = directory
        for part in name.split("/"):
            path = path / part
            if path.is_symlink():
                raise BundleError(f"refused: {path} is a link; extract into an empty folder")


# --- inspect -----------------------------------------------------------------------


@click.command(epilog=EXIT_HELP)
@bundle_argument
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON document.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report as one self-contained HTML file to attach to the case.",
)
@password_option
def inspect_command(
    bundle: Path, as_json: bool, html_file: Path | None, password_file: Path | None
) -> None:
    """One screen on a bundle: customer, case, host, product versions and
    configuration, support status, plugin outcomes, top errors and findings."""
    if as_json and html_file:
        raise click.UsageError("--json and --html exclude each other")
    with open_with_password(bundle, password_file) as opened:
        document = report(opened)
    if as_json:
        click.echo(json.dumps(document, indent=2))  # ASCII: no raw control bytes
    elif html_file:
        html_file.write_text(render_html(document), encoding="utf-8")
        click.echo(f"Wrote {html_file}")
    else:
        click.echo(render_text(document))


# --- the report document -------------------------------------------------------------

NOT_PRODUCTS = ("os", "network")
# Where each product lists what runs (instances, queue managers, servers).
INSTANCE_LISTS = {"db2": "instances", "mq": "queue_managers", "informix": "servers"}


def report(bundle: Bundle) -> dict[str, Any]:
    manifest = bundle.manifest
    facts = manifest.get("facts")
    products = [n for n in facts if n not in NOT_PRODUCTS] if isinstance(facts, dict) else []
    unreadable: list[str] = []
    return {
        "bundle": str(bundle.path),
        "created": manifest.get("created"),
        "status": manifest.get("status"),
        "tool": manifest.get("tool"),
        "customer": manifest.get("customer") or {},
        "case": manifest.get("case") or {},
        "host": host_section(manifest, bundle.facts("os")),
        "entitlement": entitlement_section(manifest),
        "products": [product_section(bundle, name) for name in products],
        "plugins": plugin_outcomes(manifest),
        "errors": {name: error_groups(bundle, name, unreadable) for name in ERROR_RULES},
        "findings": [finding.as_dict() for finding in bundle.findings()],
        "unreadable_logs": unreadable,
    }


def host_section(manifest: dict[str, Any], os_facts: dict[str, Any]) -> dict[str, Any]:
    host = manifest.get("host") or {}
    memory = os_facts.get("memory_total")
    return {
        "hostname": host.get("hostname"),
        "os": " ".join(filter(None, (host.get("os_name"), host.get("os_version")))) or None,
        "kernel": host.get("kernel"),
        "architecture": host.get("architecture"),
        "cpus": os_facts.get("cpu_count"),
        "memory_gib": round(memory / 1024**3, 1) if isinstance(memory, int) else None,
        "timezone": os_facts.get("timezone"),
    }


def entitlement_section(manifest: dict[str, Any]) -> dict[str, Any]:
    customer = manifest.get("customer") or {}
    entitlement = manifest.get("entitlement") or {}
    return {
        "service_start": customer.get("service_start"),
        "service_end": customer.get("service_end"),
        "service_active": entitlement.get("service_active"),
        "products_on_card": customer.get("products") or [],
        "products": entitlement.get("products") or {},
        "warnings": entitlement.get("warnings") or [],
    }


def product_section(bundle: Bundle, name: str) -> dict[str, Any]:
    facts = bundle.facts(name)
    version = facts.get("version")
    return {
        "product": name,
        "name": facts.get("product"),
        "version": version,
        "fix_pack": facts.get("fix_pack"),
        "instances": instances(name, facts),
        "highlights": HIGHLIGHTS[name](facts) if name in HIGHLIGHTS else {},
        "lifecycle": support(name, version, bundle_created(bundle.manifest)),
    }


def support(product: str, version: Any, created: datetime | None) -> dict[str, Any]:
    """Lifecycle status on the day the bundle was made."""
    if created is None or not isinstance(version, str):
        return lifecycle.status(product, None, date.min)  # nothing to look up: unknown
    return lifecycle.status(product, version, created.date())


def instances(product: str, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """What runs, with its state: instances, queue managers, servers."""
    if product == "websphere":
        entries = [
            {**server, "name": f"{profile.get('name')}/{server.get('name')}"}
            for profile in facts.get("profiles") or []
            for server in profile.get("servers") or []
        ]
    else:
        entries = facts.get(INSTANCE_LISTS.get(product, "servers")) or []
    return [
        {
            "name": entry.get("name") or entry.get("server_name"),
            "state": entry.get("state") or entry.get("status"),
        }
        for entry in entries
        if isinstance(entry, dict)
    ]


def _db2_highlights(facts: dict[str, Any]) -> dict[str, Any]:
    databases = []
    for db in facts.get("databases") or []:
        hadr = db.get("hadr") or {}
        pair = f" HADR {hadr.get('role')} {hadr.get('state')}" if hadr else ""
        logging = (db.get("config") or {}).get("LOGARCHMETH1")
        databases.append(f"{db.get('name')} ({db.get('state')}{pair}, LOGARCHMETH1 {logging})")
    licenses = [p.get("product_name") for p in facts.get("license") or [] if p.get("product_name")]
    return {
        "databases": "; ".join(databases),
        "diagpath": facts.get("diagpath"),
        "license": ", ".join(licenses),
        "install_path": facts.get("install_path"),
    }


def _mq_highlights(facts: dict[str, Any]) -> dict[str, Any]:
    fdc = facts.get("fdc") or {}
    return {
        "installation": f"{facts.get('installation_name')} at {facts.get('install_path')}",
        "license": facts.get("license"),
        "default_qmgr": facts.get("default_qmgr"),
        "fdc_files": fdc.get("count"),
    }


def _websphere_highlights(facts: dict[str, Any]) -> dict[str, Any]:
    packages = facts.get("maintenance_packages") or []
    return {
        "edition": facts.get("edition"),
        "install_path": facts.get("install_path"),
        "cells": ", ".join(facts.get("cells") or []),
        "interim_fixes": ", ".join(packages) if packages else "none",
    }


def _informix_highlights(facts: dict[str, Any]) -> dict[str, Any]:
    servers = facts.get("servers") or []
    return {
        "edition": (facts.get("license") or {}).get("edition"),
        "install_path": facts.get("install_path"),
        "server_types": ", ".join(f"{s.get('name')}: {s.get('type') or '?'}" for s in servers),
        "assertion_failure_files": sum(s.get("assertion_failure_files") or 0 for s in servers),
    }


def _domino_highlights(facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "server_name": facts.get("server_name"),
        "data_directory": facts.get("data_directory"),
        "server_tasks": ", ".join(facts.get("server_tasks") or []),
        "nsd_files": len(facts.get("nsd_files") or []),
    }


HIGHLIGHTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "db2": _db2_highlights,
    "mq": _mq_highlights,
    "websphere": _websphere_highlights,
    "informix": _informix_highlights,
    "domino": _domino_highlights,
}


def plugin_outcomes(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    items = [i for i in manifest.get("items") or [] if isinstance(i, dict)]
    outcomes = []
    for plugin in manifest.get("plugins") or []:
        mine = [i.get("outcome") for i in items if i.get("plugin") == plugin.get("name")]
        counts = {o: mine.count(o) for o in ("ok", "skipped", "failed", "timed_out")}
        outcomes.append(
            {
                "name": plugin.get("name"),
                "status": plugin.get("status"),
                "applies": plugin.get("applies"),
                "error": plugin.get("error"),
                "items": counts,
            }
        )
    return outcomes


# --- the most relevant errors: records grouped, counted, first and last seen --------


def _db2_key(record: Record) -> tuple[str | None, str]:
    """(function, message): the FUNCTION line's function name, without the probe."""
    function = None
    for line in record.text.splitlines():
        if line.startswith("FUNCTION:"):
            parts = [p.strip() for p in line.split(":", 1)[1].split(",")]
            function = parts[2] if len(parts) > 2 else parts[-1]
            break
    return function, record.message_id or _first_message_line(record.text)


def _first_message_line(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("MESSAGE"):
            return line.partition(":")[2].strip()
    return text.splitlines()[0][:80] if text else "?"


def _id_key(record: Record) -> tuple[str | None, str]:
    return None, record.message_id or "(no message id)"


def _informix_key(record: Record) -> tuple[str | None, str]:
    line = next(line for line in record.text.splitlines() if "Assert Failed" in line)
    return None, line.split("Assert Failed", 1)[1].lstrip(": ").strip() or "Assert Failed"


# product: (which records count, how they are grouped, what the report says they are)
ERROR_RULES: dict[
    str, tuple[Callable[[Record], bool], Callable[[Record], tuple[str | None, str]], str]
] = {
    "db2": (
        lambda r: r.level in ("Critical", "Alert", "Severe", "Error"),
        _db2_key,
        "Critical/Alert/Severe/Error records by function and message",
    ),
    "websphere": (lambda r: r.level in ("E", "F"), _id_key, "E/F entries by message id"),
    "mq": (
        lambda r: r.level in ("error", "severe", "terminating"),
        _id_key,
        "AMQ messages of severity E/S/T by message id",
    ),
    "informix": (lambda r: "Assert Failed" in r.text, _informix_key, "assertion failures"),
}


def error_groups(bundle: Bundle, product: str, unreadable: list[str]) -> dict[str, Any]:
    wanted, key, what = ERROR_RULES[product]
    groups: dict[tuple[str | None, str], Group] = {}
    for log in bundle.logs(product):
        try:
            for record in bundle.records(log):
                if wanted(record):
                    groups.setdefault(key(record), Group(*key(record))).add(record)
        except BundleError as error:  # a damaged log: report the others
            unreadable.append(f"{log}: {error}")
    ranked = sorted(groups.values(), key=lambda g: (-g.count, g.message))
    return {
        "what": what,
        "groups": [group.as_dict() for group in ranked[:TOP_GROUPS]],
        "total_groups": len(groups),
    }


@dataclass
class Group:
    """Records with the same function and message: how many, which levels, when."""

    function: str | None
    message: str
    count: int = 0
    levels: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, record: Record) -> None:
        self.count += 1
        if record.level and record.level not in self.levels:
            self.levels.append(record.level)
        moment = record.timestamp
        if moment is not None:
            self.first = moment if self.first is None else min(self.first, moment)
            self.last = moment if self.last is None else max(self.last, moment)

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "message": self.message,
            "levels": self.levels,
            "count": self.count,
            "first": self.first.isoformat(timespec="seconds") if self.first else None,
            "last": self.last.isoformat(timespec="seconds") if self.last else None,
        }


# --- the report as one screen of text -------------------------------------------------


def render_text(doc: dict[str, Any]) -> str:
    lines = header_lines(doc)
    for product in doc["products"]:
        lines += product_lines(product)
    lines += ["", "Plugins   " + ", ".join(_outcome(p) for p in doc["plugins"])]
    for product, errors in doc["errors"].items():
        lines += error_lines(product, errors)
    lines += finding_lines(doc["findings"])
    lines += [f"Unreadable: {entry}" for entry in doc["unreadable_logs"]]
    return "\n".join(_fit(line) for line in lines)


def _fit(line: str) -> str:
    line = CONTROL.sub("?", line)
    return line if len(line) <= WIDTH else line[: WIDTH - 3] + "..."


def _text(value: Any) -> str:
    return "-" if value in (None, "", []) else CONTROL.sub("?", str(value))


def header_lines(doc: dict[str, Any]) -> list[str]:
    customer, case, host, rights = doc["customer"], doc["case"], doc["host"], doc["entitlement"]
    tool = doc.get("tool") or {}
    severity = case.get("severity")
    active = {True: "current", False: "NOT CURRENT", None: "not checked"}
    lines = [
        f"Bundle    {Path(doc['bundle']).name}",
        f"Made      {_text(doc['created'])} by {tool.get('name')} {tool.get('version')}, "
        f"collection status {_text(doc['status'])}",
        "Customer  "
        + _joined(
            customer.get("customer_number"),
            f"contract {_text(customer.get('contract_number'))}",
            customer.get("company"),
            customer.get("contact_name"),
            customer.get("email"),
            customer.get("phone"),
        ),
        f"Service   {_text(rights['service_start'])} to {_text(rights['service_end'])} "
        f"({active.get(rights['service_active'], '?')}); products on the card: "
        f"{_text(', '.join(rights['products_on_card']))}",
        f"Case      {_text(case.get('id'))}  severity {_text(severity)}"
        + (f": {SEVERITIES[severity]}" if severity in SEVERITIES else ""),
    ]
    for key, value in (case.get("description") or {}).items():
        lines.append(f"Problem   {key.replace('_', ' ')}: {' '.join(str(value).split())}")
    lines.append(
        "Host      "
        + _joined(
            host["hostname"],
            host["os"],
            f"kernel {_text(host['kernel'])}",
            host["architecture"],
            f"{_text(host['cpus'])} CPUs",
            f"{_text(host['memory_gib'])} GiB",
        )
    )
    return lines


def _joined(*values: Any) -> str:
    return "  ".join(str(v) for v in values if v not in (None, ""))


def support_text(support: dict[str, Any]) -> str:
    state, ended = support["status"], support["end_of_support"]
    if state == lifecycle.SUPPORTED:
        return f"supported (end of support: {ended or 'not announced'})"
    if state == lifecycle.EXTENDED:
        return (
            f"STANDARD SUPPORT ENDED {ended}; extended support only, until "
            f"{support['extended_support_end']}"
        )
    if state == lifecycle.END_OF_SUPPORT:
        return f"END OF SUPPORT since {ended or '(date not confirmed)'}"
    return f"support status unknown ({support.get('note') or 'no lifecycle data'})"


def product_lines(product: dict[str, Any]) -> list[str]:
    support = product["lifecycle"]
    release = f"release {support['release']}: " if support["release"] else ""
    lines = [
        "",
        f"{_text(product['name'])} {_text(product['version'])} (fix pack "
        f"{_text(product['fix_pack'])})  {release}{support_text(support)}",
    ]
    running = [f"{i['name']} {_text(i['state'])}" for i in product["instances"]]
    lines.append(f"  running:  {_text(', '.join(running))}")
    lines += [f"  {key}: {_text(value)}" for key, value in product["highlights"].items()]
    return lines


def _outcome(plugin: dict[str, Any]) -> str:
    items = plugin["items"]
    bad = [f"{items[o]} {o}" for o in ("failed", "timed_out") if items.get(o)]
    return f"{plugin['name']} {plugin['status']} ({items.get('ok', 0)} ok{', ' if bad else ''}" + (
        ", ".join(bad) + ")"
    )


def error_lines(product: str, errors: dict[str, Any]) -> list[str]:
    if not errors["groups"]:
        return []
    lines = [
        "",
        f"Errors    {product}: {errors['what']} (groups: {errors['total_groups']})",
        f"  {'count':>5}  {'first':<25}  {'last':<25}  message",
    ]
    for group in errors["groups"][:SHOWN_GROUPS]:
        where = f"{group['function']}: " if group["function"] else ""
        lines.append(
            f"  {group['count']:>5}  {_text(group['first']):<25}  {_text(group['last']):<25}  "
            f"{where}{group['message']}"
        )
    return lines


def finding_lines(findings: list[dict[str, Any]]) -> list[str]:
    lines = ["", f"Findings  ({len(findings)})"]
    for finding in findings[:SHOWN_FINDINGS]:
        lines.append(f"  {finding['severity']:<8} {finding['id']:<28} {finding['message']}")
        if finding["evidence"]:
            lines.append(f"  {'':<8} {'':<28} see {finding['evidence']}")
    if len(findings) > SHOWN_FINDINGS:
        lines.append(f"  ... {len(findings) - SHOWN_FINDINGS} more (--json lists them all)")
    return lines


# --- the report as one self-contained HTML file ----------------------------------------

# Inline style only; the policy forbids loading anything, should any markup slip in.
HTML_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font: 14px/1.4 sans-serif; margin: 2em; color: #1d1d1d; background: #fff; }}
h1 {{ font-size: 1.5em; border-bottom: 3px solid #0f62fe; padding-bottom: .3em; }}
h2 {{ font-size: 1.15em; margin-top: 1.6em; color: #0f62fe; }}
table {{ border-collapse: collapse; margin: .5em 0; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }}
th {{ background: #edf2fb; }}
.critical, .high {{ background: #fbd9d9; }} .medium {{ background: #fff1c7; }}
.low, .info {{ background: #eef5ee; }}
.end_of_support, .extended {{ color: #b00020; font-weight: bold; }}
code {{ font-size: .95em; }}
</style></head><body>
"""


def _h(value: Any) -> str:
    return html.escape(_text(value), quote=True)


Row = tuple[Any, ...]


def _table(headers: Iterable[str], rows: Iterable[Row], classes: Iterable[str] = ()) -> str:
    head = "".join(f"<th>{_h(h)}</th>" for h in headers)
    marks = iter(classes)
    body = "".join(
        f'<tr class="{_h(next(marks, ""))}">' + "".join(f"<td>{_h(v)}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>\n"


def render_html(doc: dict[str, Any]) -> str:
    name = Path(doc["bundle"]).name
    parts = [HTML_HEAD.format(title=_h(f"pa-collect report: {name}")), f"<h1>{_h(name)}</h1>\n"]
    parts.append("<h2>Case, customer and host</h2>\n")
    parts.append(_table((), [tuple(line.split(None, 1)) for line in header_lines(doc)]))
    parts += [html_product(product) for product in doc["products"]]
    parts.append(html_plugins(doc["plugins"]))
    parts += [html_errors(product, errors) for product, errors in doc["errors"].items()]
    parts.append(html_findings(doc["findings"]))
    parts.append("</body></html>\n")
    return "".join(parts)


def html_product(product: dict[str, Any]) -> str:
    support = product["lifecycle"]
    rows: list[Row] = [("fix pack", product["fix_pack"]), ("support source", support["source"])]
    rows += [(i["name"], i["state"]) for i in product["instances"]]
    rows += list(product["highlights"].items())
    return (
        f"<h2>{_h(product['name'])} {_h(product['version'])}</h2>\n"
        f'<p class="{_h(support["status"])}">{_h(support_text(support))}</p>\n' + _table((), rows)
    )


def html_plugins(plugins: list[dict[str, Any]]) -> str:
    rows = [(p["name"], p["status"], *p["items"].values(), p["error"]) for p in plugins]
    headers = ("plugin", "status", "ok", "skipped", "failed", "timed out", "error")
    return "<h2>Plugins</h2>\n" + _table(headers, rows)


def html_errors(product: str, errors: dict[str, Any]) -> str:
    if not errors["groups"]:
        return ""
    rows = [
        (g["count"], g["first"], g["last"], g["function"], g["message"], ", ".join(g["levels"]))
        for g in errors["groups"]
    ]
    headers = ("count", "first", "last", "function", "message", "levels")
    return f"<h2>Errors: {_h(product)}, {_h(errors['what'])}</h2>\n" + _table(headers, rows)


def html_findings(findings: list[dict[str, Any]]) -> str:
    rows = [(f["severity"], f["id"], f["message"], f["evidence"]) for f in findings]
    classes = [f["severity"] for f in findings]
    headers = ("severity", "id", "message", "evidence")
    return "<h2>Findings</h2>\n" + _table(headers, rows, classes)
