"""The inspect report: one document (a dict) built from an opened bundle.

Case, customer, host, entitlement, product versions and configuration with
their support status on the day the bundle was made, plugin outcomes, the most
relevant errors grouped and counted, findings. Values are copied as found; the
renderers (collector.render) escape them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from collector import lifecycle
from collector.bundle import Bundle, BundleError
from collector.findings import bundle_created
from collector.logwindow import Record

TOP_GROUPS = 10  # error groups per product in the report

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
