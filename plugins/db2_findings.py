"""db2 findings: the rules that read a collected bundle (never the host) and
report what a Db2 engineer would check first: HADR pairs not in PEER state,
recent severe db2diag records, a nearly full DIAGPATH file system.

Kept apart from plugins/db2.py so the plugin module stays one screen; the
plugin's findings() method calls these rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from collector.findings import BundleView, Finding, recent_records

from .db2_parse import parse_df

ERROR_LEVELS = ("Critical", "Alert", "Severe", "Error")
DIAGPATH_FULL_PERCENT = 90  # a full DIAGPATH stops db2diag.log and FODC dumps


def hadr_not_peer(bundle: BundleView) -> list[Finding]:
    """db2.hadr_not_peer: an HADR database whose pair is not in PEER state
    (REMOTE_CATCHUP is the normal state of SUPERASYNC, so it is not reported)."""
    found = []
    for number, database in enumerate(bundle.facts("db2").get("databases") or []):
        hadr = database.get("hadr") or {}
        state, mode = hadr.get("state"), hadr.get("syncmode")
        if not state or state == "PEER" or (mode, state) == ("SUPERASYNC", "REMOTE_CATCHUP"):
            continue
        found.append(
            Finding(
                "db2.hadr_not_peer",
                "high",
                f"HADR {hadr.get('role') or '?'} database {database.get('name')} is in state "
                f"{state}, not PEER (connect status {hadr.get('connect_status') or '?'})",
                f"manifest.json#/facts/db2/databases/{number}/hadr",
            )
        )
    return found


def recent_errors(bundle: BundleView) -> list[Finding]:
    """db2.recent_errors: Critical, Alert, Severe or Error records in the 24 hours
    before the bundle was made, one finding per diagnostic log."""
    found = []
    for log, records in recent_records(bundle, "db2", ERROR_LEVELS):
        levels = Counter(r.level for r in records)
        counts = ", ".join(f"{n} {level}" for level, n in levels.most_common())
        severe = levels.keys() - {"Error"}
        message = f"{counts} record(s) in the 24 h before collection"
        found.append(Finding("db2.recent_errors", "high" if severe else "medium", message, log))
    return found


def diagpath_nearly_full(bundle: BundleView) -> list[Finding]:
    """db2.diagpath_nearly_full: the file system of an instance's DIAGPATH is
    at least DIAGPATH_FULL_PERCENT used, from the os plugin's `df -kP` output."""
    usage = disk_usage(bundle)
    found = []
    for instance in bundle.facts("db2").get("instances") or []:
        diagpath = (instance.get("diagpath") or {}).get("resolved")
        mount = mount_of(diagpath, usage) if diagpath else None
        if mount is None or usage[mount][0] < DIAGPATH_FULL_PERCENT:
            continue
        percent, evidence = usage[mount]
        found.append(
            Finding(
                "db2.diagpath_nearly_full",
                "high" if percent >= 97 else "medium",
                f"DIAGPATH {diagpath} of instance {instance.get('name')} is on {mount}, "
                f"{percent}% full",
                evidence,
            )
        )
    return found


def mount_of(path: str, usage: Mapping[str, Any]) -> str | None:
    """The mount point holding `path`: the longest one that is a prefix of it."""
    holding = [m for m in usage if path == m or path.startswith(m.rstrip("/") + "/")]
    return max(holding, key=len, default=None)


def disk_usage(bundle: BundleView) -> dict[str, tuple[int, str]]:
    """{mount point: (percent used, bundle path)} from `df -kP` in the bundle."""
    item = next(
        (
            i
            for i in bundle.manifest.get("items") or []
            if isinstance(i, dict) and (i.get("plugin"), i.get("name")) == ("os", "df_-kP")
        ),
        None,
    )
    if item is None or not item.get("path"):
        return {}
    with bundle.read(item["path"]) as stream:
        text = stream.read(1024 * 1024).decode("utf-8", errors="replace")
    return {mount: (percent, item["path"]) for mount, percent in parse_df(text).items()}
