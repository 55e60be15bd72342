"""Findings: what an engineer should look at first in a bundle.

Each plugin declares its own rules in `Plugin.findings(bundle)`; the core adds
the rules every bundle shares (entitlement, failed collection). A finding names
its evidence: the bundle path that shows it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from collector.logwindow import Record

# Most urgent first; the order reports sort by.
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class Finding:
    id: str  # stable, dotted: "db2.end_of_support", "core.contract_expired"
    severity: str  # one of SEVERITIES
    message: str
    evidence: str | None = None  # bundle path (or "manifest.json#/facts/db2")

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.id}: unknown severity {self.severity!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BundleView(Protocol):
    """What findings rules may read: the bundle, never the host."""

    manifest: dict[str, Any]

    def facts(self, product: str) -> dict[str, Any]: ...

    def logs(self, plugin: str) -> list[str]:
        """Bundle paths of the plugin's log items that can be parsed."""
        ...

    def records(
        self, log: str, since: datetime | None = None, level: str | None = None
    ) -> Iterator[Record]: ...

    def read(self, name: str) -> BinaryStream:
        """A member's bytes, streamed."""
        ...


class BinaryStream(Protocol):
    def read(self, size: int = -1) -> bytes: ...

    def __enter__(self) -> BinaryStream: ...

    def __exit__(self, *exc: object) -> None: ...


def bundle_created(manifest: dict[str, Any]) -> datetime | None:
    """When the bundle was made (manifest `created`, UTC), None when unreadable."""
    try:
        return datetime.fromisoformat(str(manifest.get("created")).replace("Z", "+00:00"))
    except ValueError:
        return None


def recent_records(
    bundle: BundleView, plugin: str, levels: Collection[str], hours: int = 24
) -> Iterator[tuple[str, list[Record]]]:
    """(log, records) for each of a plugin's parsed logs that has records of one
    of `levels` in the `hours` before the bundle was made."""
    created = bundle_created(bundle.manifest)
    if created is None:
        return
    since = created - timedelta(hours=hours)
    for log in bundle.logs(plugin):
        records = [r for r in bundle.records(log, since=since) if r.level in levels]
        if records:
            yield log, records


def by_severity(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.id))


def core_findings(manifest: dict[str, Any]) -> list[Finding]:
    """Rules every bundle shares: entitlement and how the collection went."""
    found = []
    entitlement = manifest.get("entitlement") or {}
    if entitlement.get("service_active") is False:
        end = (manifest.get("customer") or {}).get("service_end", "?")
        found.append(
            Finding(
                "core.contract_expired",
                "high",
                f"the customer's service period is not current (ends {end})",
                "manifest.json#/entitlement",
            )
        )
    for product, entitled in (entitlement.get("products") or {}).items():
        if entitled is False:
            found.append(
                Finding(
                    "core.product_not_entitled",
                    "medium",
                    f"{product} is not on the customer card's product list",
                    "manifest.json#/entitlement",
                )
            )
    for plugin in manifest.get("plugins") or []:
        if plugin.get("status") in ("failed", "timed_out", "partial"):
            detail = plugin.get("error") or "some items failed or timed out"
            found.append(
                Finding(
                    f"core.collection_{plugin.get('status')}",
                    "low",
                    f"plugin {plugin.get('name')}: {detail}",
                    "manifest.json#/plugins",
                )
            )
    return found
