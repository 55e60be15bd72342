"""Find plugins: one explicit function over one versioned entry-point group.

Built-in plugins are registered in pyproject.toml under the same group as any
third-party package, so there is a single way in. A plugin that fails to load
becomes a recorded failure, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points

from collector.boundary import guarded
from collector.errors import PluginError
from collector.plugin import Plugin, validate_plugin_class

ENTRY_POINT_GROUP = "pa_collect.plugins.v1"


@dataclass(frozen=True)
class LoadFailure:
    entry_point: str
    error: str


@dataclass
class Discovered:
    plugins: dict[str, Plugin] = field(default_factory=dict)
    failures: list[LoadFailure] = field(default_factory=list)

    @property
    def products(self) -> list[str]:
        """Plugins a user chooses with --product (the rest always run)."""
        return sorted(name for name, plugin in self.plugins.items() if not plugin.always)


def discover_plugins(group: str = ENTRY_POINT_GROUP) -> Discovered:
    found = Discovered()
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        label = f"{entry.name} = {entry.value}"
        loaded, error = guarded(entry.load)
        if error is not None:
            found.failures.append(LoadFailure(label, error))
            continue
        try:
            plugin_class = validate_plugin_class(loaded)
        except PluginError as invalid:
            found.failures.append(LoadFailure(label, str(invalid)))
            continue
        if plugin_class.name in found.plugins:
            found.failures.append(LoadFailure(label, f"duplicate plugin name {plugin_class.name}"))
            continue
        instance, error = guarded(plugin_class)
        if instance is None:
            found.failures.append(LoadFailure(label, error or "could not be created"))
            continue
        found.plugins[plugin_class.name] = instance
    return found
