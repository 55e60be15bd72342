"""The plugin contract.

A plugin is a small class: identity and triggers as class attributes, `specs()`
returning declarative specs, and optionally `facts()` that turns what was
collected into structured facts for the manifest. It does no I/O of its own.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from collector.errors import PluginError
from collector.findings import BundleView, Finding
from collector.logwindow import LogFormat
from collector.redact import Rule
from collector.spec import Spec

if TYPE_CHECKING:
    from collector.host import Host

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Applicability:
    applies: bool
    reason: str


@dataclass(frozen=True, kw_only=True)
class FleetMember:
    """One host of a product installation that spans hosts (a Db2 instance's
    members, a WebSphere cell's nodes), as the product's own configuration names
    it. `group` is the unit the hosts share (the instance, the cell); `host_vars`
    describe this host's part in it, `group_vars` the whole unit."""

    host: str
    group: str
    host_vars: Mapping[str, Any] = field(default_factory=dict)
    group_vars: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What a plugin may know when it lists its specs."""

    host: Host
    # Log records older than this are not wanted (None: no window).
    since: datetime | None = None
    # Product selections such as {"instance": "db2inst1"}; plugins read their own.
    selection: Mapping[str, str] = field(default_factory=dict)
    # "collection" or "snapshot": which hooks list the specs (collector.plan).
    kind: str = "collection"

    def read_text(self, host_path: str, limit: int = 1024 * 1024) -> str | None:
        """A small registry or config file (mqs.ini, profileRegistry.xml...) that
        tells a plugin what to collect; None when absent or unreadable. Read
        through the sysroot, never collected by this call."""
        try:
            with self.host.path(host_path).open("rb") as stream:
                return stream.read(limit).decode("utf-8", errors="replace")
        except OSError:
            return None

    def glob(self, pattern: str) -> list[str]:
        """Host paths (not sysroot paths) matching an absolute glob, sorted."""
        root = str(self.host.sysroot).rstrip("/")
        return sorted(match[len(root) :] for match in glob.glob(root + pattern))


class Collected:
    """Read access to one plugin's collected (already redacted) items.

    Items are found by spec name; a glob spec may have collected several files
    under one name, told apart by their host path (`sources`). Items are read
    lazily and only up to `limit` bytes: facts come from small command outputs
    and configuration files. Log items (LogSpec) are not offered to
    `follow_up()` or `facts()` at all: large logs stream into the bundle as
    they are captured and are never staged, so `sources()` of a log spec is
    empty and `bytes()` returns None. A check that needs a log's records
    belongs in `findings()`, which reads them from the bundle.
    """

    def __init__(
        self, staged: Mapping[str, Mapping[str, Path]], limit: int = 8 * 1024 * 1024
    ) -> None:
        self._staged = staged  # spec name -> {source: staged file}
        self._limit = limit

    def sources(self, name: str) -> list[str]:
        """Host paths (or command lines) collected under a spec name."""
        return sorted(self._staged.get(name, {}))

    def bytes(self, name: str, source: str | None = None) -> bytes | None:
        """The item's bytes; for a multi-file spec, the file from `source`
        (default: the first by name)."""
        found = self._staged.get(name, {})
        key = source if source is not None else min(found, default=None)
        path = found.get(key) if key is not None else None
        if path is None:
            return None
        with path.open("rb") as stream:
            return stream.read(self._limit)

    def text(self, name: str, source: str | None = None) -> str | None:
        data = self.bytes(name, source)
        return None if data is None else data.decode("utf-8", errors="replace")

    def json(self, name: str, source: str | None = None) -> Any:
        data = self.bytes(name, source)
        return None if data is None else json.loads(data)


class Plugin:
    """Base class of every plugin, built-in or third-party."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    # Product plugins are chosen with --product; `always` plugins run with any.
    always: ClassVar[bool] = False
    # Triggers: the plugin applies when any of them is found on the host.
    commands: ClassVar[tuple[str, ...]] = ()
    paths: ClassVar[tuple[str, ...]] = ()
    env_vars: ClassVar[tuple[str, ...]] = ()
    # Seconds the whole plugin may take; commands are killed when it runs out.
    budget: ClassVar[float] = 120.0
    # Product-specific redaction rules, added to the central redactor's table.
    redaction_rules: ClassVar[tuple[Rule, ...]] = ()
    # The log formats this plugin's LogSpecs use: the engineer's reader rebuilds
    # a log's parser from the manifest as the class whose `name` matches (**options).
    log_formats: ClassVar[tuple[type[LogFormat], ...]] = ()

    def applies(self, host: Host) -> Applicability:
        """Why this plugin does or does not apply to the host."""
        if self.always:
            return Applicability(True, "always collected")
        for command in self.commands:
            found = host.which(command)
            if found:
                return Applicability(True, f"command {command} found at {found}")
        for path in self.paths:
            if host.path(path).exists():
                return Applicability(True, f"{path} exists")
        for var in self.env_vars:
            if host.env.get(var):
                return Applicability(True, f"${var} is set")
        return Applicability(False, self._not_found_reason())

    def _not_found_reason(self) -> str:
        looked = [f"command {c}" for c in self.commands]
        looked += [f"path {p}" for p in self.paths]
        looked += [f"${v}" for v in self.env_vars]
        if not looked:
            return "no trigger declared"
        return "none found of: " + ", ".join(looked)

    def specs(self, ctx: Context) -> Iterable[Spec]:
        """The items to collect. Called once per run, after `applies`."""
        raise NotImplementedError

    def follow_up(self, ctx: Context, collected: Collected) -> Iterable[Spec]:
        """More items, chosen from what `specs()` collected (e.g. the db2diag.log
        under the DIAGPATH that `db2 get dbm cfg` reported). Called once, after
        the first round; its spec names must differ from the first round's."""
        return ()

    def facts(self, collected: Collected) -> dict[str, Any]:
        """Structured facts for the manifest, parsed from collected items."""
        return {}

    def snapshot_specs(self, ctx: Context) -> Iterable[Spec]:
        """The light periodic profile (`pa-collect snapshot`): quick status
        commands, configuration, logs (windowed since the previous snapshot).
        Default: nothing, so a plugin takes part in snapshots only on purpose."""
        return ()

    def snapshot_follow_up(self, ctx: Context, collected: Collected) -> Iterable[Spec]:
        """The snapshot's second round, as `follow_up` is the collection's (e.g.
        the databases that `db2 list db directory` listed). Called once, after
        `snapshot_specs`. Default: nothing."""
        return ()

    def fleet_members(self, ctx: Context) -> list[FleetMember] | None:
        """The hosts of the product installation this host belongs to, read from
        the product's configuration (`pa-collect inventory`), so the fleet of a
        case comes from the product itself. Called on the host, with the user's
        selection (--instance, --profile-name) in `ctx.selection`. Default: None,
        the product has no notion of several hosts."""
        return None

    def findings(self, bundle: BundleView) -> Iterable[Finding]:
        """Problems an engineer should see first, from a bundle's facts and
        records (an end-of-support release, HADR not in PEER, a queue manager
        not running...). Called on the engineer's side, never on the host."""
        return ()


def validate_plugin_class(candidate: object) -> type[Plugin]:
    """Check a loaded object against the contract; raise PluginError early."""
    if not (isinstance(candidate, type) and issubclass(candidate, Plugin)):
        raise PluginError(f"{candidate!r} is not a subclass of collector.plugin.Plugin")
    name = getattr(candidate, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise PluginError(f"{candidate.__qualname__}: name must match {NAME_PATTERN.pattern}")
    if candidate.specs is Plugin.specs:
        raise PluginError(f"plugin {name}: specs() is not implemented")
    for attr in ("commands", "paths", "env_vars"):
        value = getattr(candidate, attr)
        if not (isinstance(value, tuple) and all(isinstance(v, str) for v in value)):
            raise PluginError(f"plugin {name}: {attr} must be a tuple of strings")
    if not (isinstance(candidate.budget, int | float) and candidate.budget > 0):
        raise PluginError(f"plugin {name}: budget must be a positive number of seconds")
    return candidate
