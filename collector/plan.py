"""Planning: turn each plugin's declarative specs into concrete items.

Globs are expanded, bundle paths assigned, secret files refused (named, never
read), missing files recorded as skipped, and sizes estimated for --dry-run and
the free-space check. Nothing is read or run here beyond stat() and a short
sniff of each file's first bytes.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from collector.boundary import guarded
from collector.plugin import Applicability, Collected, Context, Plugin
from collector.redact import SNIFF_BYTES, secret_file_reason
from collector.spec import CommandSpec, FactSpec, FileSpec, GlobSpec, LogSpec, Spec, slug

# Sizes we cannot know before running; only used for estimates.
COMMAND_ESTIMATE = 64 * 1024
FACT_ESTIMATE = 16 * 1024


@dataclass(frozen=True)
class Item:
    """One thing to collect into one bundle file."""

    plugin: str
    spec: Spec
    kind: str  # "file", "log", "command" or "fact"
    source: str  # host path or command line, as a human reads it
    bundle_path: str
    estimate: int
    host_path: Path | None = None  # files only: where to read, under the sysroot


@dataclass(frozen=True)
class Skipped:
    """Something a plugin wanted that is not collected, with the reason."""

    plugin: str
    spec_name: str
    kind: str
    source: str
    reason: str
    secret: bool = False


@dataclass
class PluginPlan:
    plugin: Plugin
    applicability: Applicability
    items: list[Item] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    error: str | None = None  # specs() itself failed

    @property
    def estimate(self) -> int:
        return sum(item.estimate for item in self.items)


# Which plugin hooks list the specs of each kind of run (first round, second
# round): a snapshot asks for the light profile, a collection for everything.
HOOKS = {
    "collection": ("specs", "follow_up"),
    "snapshot": ("snapshot_specs", "snapshot_follow_up"),
}


def plan_plugin(plugin: Plugin, applicability: Applicability, ctx: Context) -> PluginPlan:
    first = getattr(plugin, HOOKS[ctx.kind][0])
    return plan_specs(plugin, applicability, ctx, lambda: first(ctx))


def follow_up_hook(
    plugin: Plugin, ctx: Context
) -> Callable[[Context, Collected], Iterable[Spec]] | None:
    """The plugin's second-round hook for this kind of run; None when the
    plugin keeps the base class's (empty) one, so no second round is needed."""
    name = HOOKS[ctx.kind][1]
    if getattr(type(plugin), name) is getattr(Plugin, name):
        return None
    hook: Callable[[Context, Collected], Iterable[Spec]] = getattr(plugin, name)
    return hook


def plan_specs(
    plugin: Plugin,
    applicability: Applicability,
    ctx: Context,
    list_specs: Callable[[], Iterable[Spec]],
    seen: set[str] | None = None,
) -> PluginPlan:
    """Plan what `list_specs` (plugin code) asks for; `seen` bundle paths are
    not planned again."""
    plan = PluginPlan(plugin, applicability)
    specs, error = guarded(lambda: list(list_specs()))
    if error is not None or specs is None:
        plan.error = error
        return plan
    seen = set(seen or ())
    for spec in specs:
        for entry in _expand(plugin.name, spec, ctx):
            if isinstance(entry, Item) and entry.bundle_path in seen:
                continue  # two globs matched the same file
            if isinstance(entry, Item):
                seen.add(entry.bundle_path)
                plan.items.append(entry)
            else:
                plan.skipped.append(entry)
    return plan


def _expand(plugin: str, spec: Spec, ctx: Context) -> Iterable[Item | Skipped]:
    if isinstance(spec, CommandSpec):
        yield Item(
            plugin,
            spec,
            "command",
            spec.source,
            f"{plugin}/commands/{spec.name}.txt",
            COMMAND_ESTIMATE,
        )
    elif isinstance(spec, FactSpec):
        yield Item(
            plugin, spec, "fact", spec.source, f"{plugin}/facts/{spec.name}.json", FACT_ESTIMATE
        )
    elif isinstance(spec, FileSpec):
        yield _file_item(plugin, spec, spec.path, ctx)
    elif isinstance(spec, GlobSpec):
        yield from _glob_items(plugin, spec, ctx)
    else:
        yield Skipped(plugin, spec.name, "unknown", repr(spec), "unsupported spec type")


def _glob_items(plugin: str, spec: GlobSpec, ctx: Context) -> Iterable[Item | Skipped]:
    root = str(ctx.host.sysroot).rstrip("/")
    matches = [m for m in glob.glob(root + spec.pattern) if os.path.isfile(m)]
    if not matches:
        yield Skipped(plugin, spec.name, "file", spec.pattern, "no file matches")
        return
    if spec.newest is not None:
        matches.sort(key=_mtime, reverse=True)
        matches = matches[: spec.newest]
    for match in sorted(matches):
        yield _file_item(plugin, spec, match[len(root) :] or "/", ctx)


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _file_item(plugin: str, spec: Spec, host_path: str, ctx: Context) -> Item | Skipped:
    kind = "log" if isinstance(spec, LogSpec) else "file"
    local = ctx.host.path(host_path)
    if not local.is_file():
        reason = "not present" if not local.exists() else "not a regular file"
        return Skipped(plugin, spec.name, kind, host_path, reason)
    secret = secret_file_reason(host_path, _head(local))
    if secret:
        return Skipped(plugin, spec.name, kind, host_path, secret, secret=True)
    size = local.stat().st_size
    cap = spec.max_size if spec.max_size is not None else size
    bundle_path = f"{plugin}/files/{_safe(host_path)}"
    return Item(plugin, spec, kind, host_path, bundle_path, min(size, cap), local)


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(SNIFF_BYTES)
    except OSError:
        return b""  # unreadable: the runner records the real error


def _safe(host_path: str) -> str:
    """A bundle-relative path that can never escape its folder."""
    parts = [slug(part) for part in host_path.split("/") if part not in ("", ".", "..")]
    return "/".join(parts) or "root"
