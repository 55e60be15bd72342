"""The bundle's contract: manifest.json, built from the run and schema-checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collector import __version__
from collector.errors import NoBundle
from collector.runner import FAILED, TIMED_OUT, ItemResult, PluginRun
from collector.schema import MANIFEST_SCHEMA_VERSION, schema_errors

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class RunInfo:
    """Everything about a run that is not a plugin outcome."""

    kind: str
    created: datetime
    customer: dict[str, Any]
    entitlement: dict[str, Any]
    case: dict[str, Any]
    host: dict[str, str]
    command_line: list[str]
    products: list[str]
    options: dict[str, Any]
    load_failures: list[dict[str, str]]
    rule_names: list[str]
    warnings: list[str]
    # collector.obfuscate.Obfuscator.summary() when the run obfuscated: kinds,
    # counts and the map id, never a value.
    obfuscation: dict[str, Any] | None = None


def run_status(runs: list[PluginRun]) -> str:
    outcomes = {r.outcome for run in runs for r in run.results}
    failed_plugin = any(run.plan.error for run in runs)
    return "partial" if failed_plugin or outcomes & {FAILED, TIMED_OUT} else "ok"


def build_manifest(info: RunInfo, runs: list[PluginRun], facts: dict[str, Any]) -> dict[str, Any]:
    items = [item_entry(result) for run in runs for result in run.results]
    manifest: dict[str, Any] = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "tool": {"name": "pa-collect", "version": __version__},
        "kind": info.kind,
        "created": info.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": run_status(runs),
        "customer": info.customer,
        "entitlement": info.entitlement,
        "case": info.case,
        "host": info.host,
        "command_line": info.command_line,
        "products": info.products,
        "options": info.options,
        "plugins": [plugin_entry(run) for run in runs],
        "load_failures": info.load_failures,
        "items": items,
        "facts": facts,
        "redaction": {
            "rules": info.rule_names,
            "total": sum(item.get("redactions", 0) for item in items),
        },
        "warnings": info.warnings,
    }
    if info.obfuscation is not None:
        manifest["obfuscation"] = info.obfuscation
    return manifest


def plugin_entry(run: PluginRun) -> dict[str, Any]:
    plugin = run.plan.plugin
    return {
        "name": plugin.name,
        "version": plugin.version,
        "applies": run.plan.applicability.applies,
        "reason": run.plan.applicability.reason,
        "status": run.status,
        "error": run.plan.error,
        "duration_s": round(run.duration, 3),
    }


def item_entry(result: ItemResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "plugin": result.plugin,
        "name": result.spec_name,
        "kind": result.kind,
        "source": result.source,
        "outcome": result.outcome,
        "reason": result.reason,
        "path": result.bundle_path,
    }
    if result.secret:
        entry["secret"] = True
    if result.captured is not None:
        captured = result.captured
        entry.update(
            size=captured.size,
            sha256=captured.sha256,
            original_size=captured.original_size,
            truncated=captured.truncated,
            redactions=sum(captured.redactions.values()),
            redaction_rules=dict(captured.redactions),
        )
    if result.log_format is not None:
        entry["format"] = result.log_format
    if result.window_start is not None:
        entry["window_start"] = result.window_start
    if result.kind == "command" and result.outcome != "skipped":
        entry["exit_code"] = result.exit_code
    if result.outcome != "skipped":
        entry["duration_s"] = round(result.duration, 3)
    return entry


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Serialise after checking the schema: a bundle never carries a bad manifest."""
    errors = schema_errors("manifest", manifest)
    if errors:
        raise NoBundle("internal error, manifest fails its schema: " + "; ".join(errors[:3]))
    return serialised(manifest)


def serialised(manifest: dict[str, Any]) -> bytes:
    """The manifest's bytes as they are in a bundle (unchecked)."""
    return json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
