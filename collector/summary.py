"""What the user sees after a run: a one-screen summary, or the same as JSON."""

from __future__ import annotations

from collections import Counter
from typing import Any

from collector.plan import PluginPlan
from collector.runner import ItemResult

OUTCOMES = ("ok", "skipped", "failed", "timed_out")
# Skip reasons that are normal on most hosts; counted, not listed one by one.
ROUTINE = ("not present", "command not found", "no file matches")


def summary_document(
    manifest: dict[str, Any], bundle: str, size: int, sha256: str
) -> dict[str, Any]:
    plugins: dict[str, Any] = {}
    for plugin in manifest["plugins"]:
        counts = Counter(i["outcome"] for i in manifest["items"] if i["plugin"] == plugin["name"])
        plugins[plugin["name"]] = {
            "status": plugin["status"],
            "applies": plugin["applies"],
            "reason": plugin["reason"],
            "error": plugin["error"],
            "outcomes": {o: counts.get(o, 0) for o in OUTCOMES},
        }
    return {
        "bundle": bundle,
        "status": manifest["status"],
        "size": size,
        "sha256": sha256,
        "case": manifest["case"]["id"],
        "plugins": plugins,
        "redactions": manifest["redaction"]["total"],
        "self_check": manifest["redaction"]["self_check"],
        "obfuscation": manifest.get("obfuscation"),
        "warnings": manifest["warnings"],
    }


def render_summary(summary: dict[str, Any], manifest: dict[str, Any]) -> str:
    lines = [
        f"Bundle:  {summary['bundle']}",
        f"         {human_size(summary['size'])}, status {summary['status']}, "
        f"sha256 {summary['sha256'][:16]}...",
        "",
        f"{'plugin':<12}{'status':<10}{'ok':>5}{'skipped':>9}{'failed':>8}{'timed out':>11}",
    ]
    for name, plugin in summary["plugins"].items():
        counts = plugin["outcomes"]
        lines.append(
            f"{name:<12}{plugin['status']:<10}{counts['ok']:>5}{counts['skipped']:>9}"
            f"{counts['failed']:>8}{counts['timed_out']:>11}"
        )
        if not plugin["applies"]:
            lines.append(f"{'':<12}not applicable: {plugin['reason']}")
        if plugin["error"]:
            lines.append(f"{'':<12}error: {plugin['error']}")
    notable = [i for i in manifest["items"] if _notable(i)]
    routine = sum(1 for i in manifest["items"] if i["outcome"] == "skipped" and not _notable(i))
    if notable:
        lines += ["", "Not collected:"]
        lines += [
            f"  {i['plugin']:<10} {i['outcome']:<10} {i['source']}: {i['reason']}" for i in notable
        ]
    if routine:
        lines.append(f"  ({routine} more not present on this host; see manifest.json)")
    truncated = [i for i in manifest["items"] if i.get("truncated")]
    if truncated:
        lines.append(f"Cut to the size cap (newest bytes kept): {len(truncated)} item(s)")
    lines.append(f"Redacted values: {summary['redactions']}")
    lines.append(_self_check_line(summary["self_check"]))
    if summary["obfuscation"]:
        counts = summary["obfuscation"]["counts"]
        done = ", ".join(f"{kind} {count}" for kind, count in counts.items())
        lines.append(f"Obfuscated: {done} (map {summary['obfuscation']['map_id']})")
    if summary["warnings"]:
        lines += ["", "Warnings:"] + [f"  {w}" for w in summary["warnings"]]
    return "\n".join(lines)


def _self_check_line(check: dict[str, Any]) -> str:
    scanned = f"{check['items']} item(s) scanned again"
    if check["sampled_logs"]:
        scanned += f" ({check['sampled_logs']} large log(s) over their first 4 MiB)"
    if not check["leaks"]:
        return f"Self-check: {scanned}, nothing a redaction rule would still mask"
    found = "; ".join(f"{x['path']}:{x['line']} {x['rule']}" for x in check["leaks"][:5])
    return f"Self-check: {scanned}, {len(check['leaks'])} POSSIBLE LEAK(S): {found}"


def _notable(item: dict[str, Any]) -> bool:
    if item["outcome"] in ("failed", "timed_out") or item.get("secret"):
        return True
    reason = item.get("reason") or ""
    return item["outcome"] == "skipped" and not reason.startswith(ROUTINE)


def plan_document(plans: list[PluginPlan]) -> dict[str, Any]:
    return {
        "plugins": {
            plan.plugin.name: {
                "applies": plan.applicability.applies,
                "reason": plan.applicability.reason,
                "error": plan.error,
                "items": [
                    {
                        "kind": i.kind,
                        "source": i.source,
                        "path": i.bundle_path,
                        "estimate": i.estimate,
                    }
                    for i in plan.items
                ],
                "skipped": [{"source": s.source, "reason": s.reason} for s in plan.skipped],
            }
            for plan in plans
        },
        "estimate": sum(plan.estimate for plan in plans),
    }


def render_plan(plans: list[PluginPlan]) -> str:
    lines = []
    for plan in plans:
        state = "applies" if plan.applicability.applies else "does not apply"
        lines.append(f"{plan.plugin.name}: {state} ({plan.applicability.reason})")
        lines += [f"  {i.kind:<8} {human_size(i.estimate):>10}  {i.source}" for i in plan.items]
        lines += [
            f"  {'skip':<8} {'':>10}  {s.source}: {s.reason}"
            for s in plan.skipped
            if not s.reason.startswith(ROUTINE)
        ]
        if plan.error:
            lines.append(f"  error: {plan.error}")
    total = sum(plan.estimate for plan in plans)
    lines.append(f"Estimated size before compression: {human_size(total)}")
    return "\n".join(lines)


class ProgressLine:
    """A single self-overwriting status line on a terminal."""

    def __init__(self, write: Any) -> None:
        self._write = write

    def __call__(self, result: ItemResult, done: int, total: int) -> None:
        text = f"[{done:>4}/{total}] {result.plugin}: {result.source}"[:78]
        self._write(f"\r{text:<78}")

    def clear(self) -> None:
        self._write("\r" + " " * 78 + "\r")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
