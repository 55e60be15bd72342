"""The inspect report shown as one screen of text or as one self-contained HTML file.

Everything in the document comes from a stranger's bundle: control characters
are replaced on the terminal and every value is escaped in HTML, and the page
loads nothing from anywhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from collector import lifecycle
from collector.case import SEVERITIES

SHOWN_GROUPS = 5  # error groups per product on the text screen
SHOWN_FINDINGS = 10
WIDTH = 110
# Control characters from a stranger's bundle could drive the engineer's terminal.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


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
