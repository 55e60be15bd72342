"""Is a product release still supported? The IBM/HCL lifecycle table shipped as
data (lifecycle.json), each entry with its source.

A release is matched by version prefix on dotted boundaries (Db2 "11.1.4.7" is
release "11.1", Informix "14.10.FC10" is "14.10"); the longest release wins, so
Domino "14.5.1" is 14.5, not 14. Dates are compared with the day a bundle was
made, never with the engineer's clock, so a report does not change with time.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from collector.findings import BundleView, Finding, bundle_created

SUPPORTED = "supported"
EXTENDED = "extended"  # standard support ended; paid extended support still offered
END_OF_SUPPORT = "end_of_support"
UNKNOWN = "unknown"
# What an entry without an end-of-support date means (its "undated" field).
UNDATED = {"not announced": SUPPORTED, "passed": END_OF_SUPPORT, "unconfirmed": UNKNOWN}


@dataclass(frozen=True)
class Release:
    product: str
    release: str
    general_availability: date | None
    end_of_support: date | None
    extended_support_end: date | None
    undated: str
    source: str
    note: str

    def matches(self, version: str) -> bool:
        return version == self.release or version.startswith(self.release + ".")

    def status_on(self, today: date) -> str:
        if self.end_of_support is None:
            return UNDATED.get(self.undated, UNKNOWN)
        if today <= self.end_of_support:
            return SUPPORTED
        if self.extended_support_end is not None and today <= self.extended_support_end:
            return EXTENDED
        return END_OF_SUPPORT


def _day(text: Any) -> date | None:
    return date.fromisoformat(text) if isinstance(text, str) else None


def _release(entry: dict[str, Any]) -> Release:
    return Release(
        product=entry["product"],
        release=entry["release"],
        general_availability=_day(entry.get("general_availability")),
        end_of_support=_day(entry.get("end_of_support")),
        extended_support_end=_day(entry.get("extended_support_end")),
        undated=entry.get("undated", "unconfirmed"),
        source=entry["source"],
        note=entry.get("note", ""),
    )


@functools.cache
def table() -> tuple[Release, ...]:
    """Every release of lifecycle.json."""
    text = resources.files("collector").joinpath("lifecycle.json").read_text(encoding="utf-8")
    return tuple(_release(entry) for entry in json.loads(text)["releases"])


def find(product: str, version: str | None) -> Release | None:
    """The release a version belongs to (None when the table does not know it)."""
    wanted = (version or "").strip().lstrip("vV")
    candidates = [r for r in table() if r.product == product and wanted and r.matches(wanted)]
    return max(candidates, key=lambda r: len(r.release), default=None)


def status(product: str, version: str | None, today: date) -> dict[str, Any]:
    """Where `version` of `product` stands on `today`: release, dates, status
    (supported, extended, end_of_support or unknown) and the source."""
    found = find(product, version)
    if found is None:
        return {
            "product": product,
            "version": version,
            "release": None,
            "general_availability": None,
            "end_of_support": None,
            "extended_support_end": None,
            "status": UNKNOWN,
            "source": None,
            "note": "release not in the lifecycle table",
        }
    return {
        "product": product,
        "version": version,
        "release": found.release,
        "general_availability": _iso(found.general_availability),
        "end_of_support": _iso(found.end_of_support),
        "extended_support_end": _iso(found.extended_support_end),
        "status": found.status_on(today),
        "source": found.source,
        "note": found.note,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def end_of_support_finding(
    bundle: BundleView, product: str, evidence: str | None = None
) -> Finding | None:
    """`<product>.end_of_support` when the collected release was out of standard
    support on the day the bundle was made (high; medium while paid extended
    support is still offered)."""
    version = bundle.facts(product).get("version")
    created = bundle_created(bundle.manifest)
    if not isinstance(version, str) or created is None:
        return None
    found = status(product, version, created.date())
    if found["status"] not in (END_OF_SUPPORT, EXTENDED):
        return None
    ended = found["end_of_support"] or "a date not recorded"
    message = f"{product} {version} (release {found['release']}) is past end of support ({ended})"
    if found["status"] == EXTENDED:
        message += f"; extended support only, until {found['extended_support_end']}"
    return Finding(
        f"{product}.end_of_support",
        "medium" if found["status"] == EXTENDED else "high",
        message,
        evidence or f"manifest.json#/facts/{product}/version",
    )
