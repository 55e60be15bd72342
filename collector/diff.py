"""`pa-collect diff A B`: what changed between two bundles, usually two snapshots.

Read from the bundles alone, never from a host:
- facts: each product's top-level facts (version, fix pack, build level...);
- configuration: each parameter of a collected configuration output (db cfg,
  dbm cfg, notes.ini) whose value differs, old -> new;
- files: items (bundle paths) in one bundle and not in the other;
- records: per product and level, the log records in B at or after A was made
  (snapshots hold only the records since the previous one), with both counts;
- metrics: numeric values of fact items (the os snapshot metrics) that moved.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from collector.bundle import Bundle
from collector.findings import bundle_created
from collector.plugins.db2_parse import parse_cfg
from collector.plugins.domino_parse import parse_notes_ini

# Configuration items: (plugin, item name pattern, parser into {parameter: value}).
CONFIG_ITEMS: tuple[tuple[str, re.Pattern[str], Callable[[str], Mapping[str, str]]], ...] = (
    ("db2", re.compile(r"\.db2_get_(?:dbm_cfg|db_cfg_for_\w+)$"), parse_cfg),
    ("domino", re.compile(r"_notes_ini$"), parse_notes_ini),
)
READ_LIMIT = 8 * 1024 * 1024  # of one configuration output or fact item
SCALARS = (str, int, float, bool, type(None))
NO_LEVEL = "(none)"


def diff_bundles(a: Bundle, b: Bundle) -> dict[str, Any]:
    return {
        "a": describe(a),
        "b": describe(b),
        "facts": fact_changes(a, b),
        "configuration": config_changes(a, b),
        "files": file_changes(a, b),
        "records": record_changes(a, b),
        "metrics": metric_changes(a, b),
    }


def describe(bundle: Bundle) -> dict[str, Any]:
    manifest = bundle.manifest
    return {
        "path": str(bundle.path),
        "kind": manifest.get("kind"),
        "created": manifest.get("created"),
        "status": manifest.get("status"),
        "hostname": (manifest.get("host") or {}).get("hostname"),
        "products": manifest.get("products"),
    }


def fact_changes(a: Bundle, b: Bundle) -> list[dict[str, Any]]:
    """Changed top-level scalar facts; nested ones (per instance, per
    database) repeat them or belong to the other sections."""
    changes = []
    for product in sorted(_products(a) | _products(b)):
        old, new = a.facts(product), b.facts(product)
        for key in sorted(old.keys() | new.keys()):
            before, after = old.get(key), new.get(key)
            if isinstance(before, SCALARS) and isinstance(after, SCALARS) and before != after:
                changes.append({"product": product, "fact": key, "old": before, "new": after})
    return changes


def config_changes(a: Bundle, b: Bundle) -> list[dict[str, Any]]:
    changes = []
    old_items, new_items = _config_items(a), _config_items(b)
    for key in sorted(old_items.keys() & new_items.keys()):
        (item, parse), new_item = old_items[key], new_items[key][0]
        old, new = parse(_text(a, item)), parse(_text(b, new_item))
        for parameter in sorted(old.keys() | new.keys()):
            if old.get(parameter) != new.get(parameter):
                changes.append(
                    {
                        "product": item["plugin"],
                        "item": item["name"],
                        "source": item["source"],
                        "parameter": parameter,
                        "old": old.get(parameter),
                        "new": new.get(parameter),
                    }
                )
    return changes


def file_changes(a: Bundle, b: Bundle) -> dict[str, list[str]]:
    old, new = set(_paths(a)), set(_paths(b))
    return {"added": sorted(new - old), "removed": sorted(old - new)}


def record_changes(a: Bundle, b: Bundle) -> dict[str, dict[str, dict[str, int]]]:
    """{product: {level: {"a": n, "b": n, "new": n}}} for the levels with new records."""
    since = bundle_created(a.manifest)
    old, new = _level_counts(a), _level_counts(b)
    fresh = _level_counts(b, since) if since else Counter()
    report: dict[str, dict[str, dict[str, int]]] = {}
    for product, level in sorted(fresh):
        counts = {"a": old[product, level], "b": new[product, level], "new": fresh[product, level]}
        report.setdefault(product, {})[level] = counts
    return report


def metric_changes(a: Bundle, b: Bundle) -> list[dict[str, Any]]:
    changes = []
    old_items, new_items = _fact_items(a), _fact_items(b)
    for key in sorted(old_items.keys() & new_items.keys()):
        old = dict(_numbers(_json(a, old_items[key]), key[1]))
        new = dict(_numbers(_json(b, new_items[key]), key[1]))
        for metric in sorted(old.keys() & new.keys()):
            if old[metric] != new[metric]:
                delta = new[metric] - old[metric]
                changes.append(
                    {
                        "product": key[0],
                        "metric": metric,
                        "old": old[metric],
                        "new": new[metric],
                        "delta": round(delta, 6) if isinstance(delta, float) else delta,
                    }
                )
    return changes


# --- reading the bundles ----------------------------------------------------------


def _items(bundle: Bundle) -> list[dict[str, Any]]:
    items = bundle.manifest.get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _collected(bundle: Bundle) -> Iterator[dict[str, Any]]:
    for item in _items(bundle):
        if isinstance(item.get("path"), str) and item.get("outcome") == "ok":
            yield item


def _products(bundle: Bundle) -> set[str]:
    facts = bundle.manifest.get("facts")
    return set(facts) if isinstance(facts, dict) else set()


def _paths(bundle: Bundle) -> list[str]:
    return [str(item["path"]) for item in _items(bundle) if isinstance(item.get("path"), str)]


def _text(bundle: Bundle, item: dict[str, Any]) -> str:
    with bundle.read(item["path"]) as stream:
        return stream.read(READ_LIMIT).decode("utf-8", errors="replace")


def _json(bundle: Bundle, item: dict[str, Any]) -> Any:
    try:
        return json.loads(_text(bundle, item))
    except ValueError:
        return None


Parser = Callable[[str], Mapping[str, str]]


def _config_items(bundle: Bundle) -> dict[tuple[str, str], tuple[dict[str, Any], Parser]]:
    found = {}
    for item in _collected(bundle):
        for plugin, pattern, parse in CONFIG_ITEMS:
            if item.get("plugin") == plugin and pattern.search(str(item.get("name"))):
                found[plugin, str(item["name"])] = (item, parse)
    return found


def _fact_items(bundle: Bundle) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (str(item["plugin"]), str(item["name"])): item
        for item in _collected(bundle)
        if item.get("kind") == "fact"
    }


def _level_counts(bundle: Bundle, since: datetime | None = None) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for item in _collected(bundle):
        if isinstance(item.get("format"), dict):
            for record in bundle.records(item["path"], since=since):
                counts[str(item["plugin"]), record.level or NO_LEVEL] += 1
    return counts


def _numbers(value: Any, path: str) -> Iterator[tuple[str, int | float]]:
    """(dotted path, number) of every number reached through objects; lists
    (process tables) have no stable identity between snapshots and are skipped."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            step = f".{key}" if re.fullmatch(r"\w+", str(key)) else f"[{json.dumps(key)}]"
            yield from _numbers(inner, path + step)


# --- text -------------------------------------------------------------------------


def render_diff(doc: dict[str, Any]) -> str:
    lines = [f"A: {_label(doc['a'])}", f"B: {_label(doc['b'])}"]
    lines += _section("Facts", [_change(c["product"], c["fact"], c) for c in doc["facts"]])
    configuration = [_change(c["item"], c["parameter"], c) for c in doc["configuration"]]
    lines += _section("Configuration", configuration)
    files = [f"+ {p}" for p in doc["files"]["added"]] + [f"- {p}" for p in doc["files"]["removed"]]
    lines += _section("Files", files)
    records = [
        f"{product} {level}: {n['new']} new (A {n['a']}, B {n['b']})"
        for product, levels in doc["records"].items()
        for level, n in levels.items()
    ]
    lines += _section("New log records", records)
    metrics = [
        f"{m['product']} {m['metric']}: {m['old']} -> {m['new']} ({m['delta']:+})"
        for m in doc["metrics"]
    ]
    lines += _section("Metrics", metrics)
    return "\n".join(lines)


def _label(side: dict[str, Any]) -> str:
    return f"{side['path']} ({side['kind']}, {side['created']}, {side['hostname']})"


def _change(where: str, name: str, change: dict[str, Any]) -> str:
    return f"{where} {name}: {change['old']} -> {change['new']}"


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", f"{title}: none" if not lines else f"{title}:", *(f"  {line}" for line in lines)]
