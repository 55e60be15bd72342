"""`pa-collect inventory`: an Ansible inventory of the hosts a product spans.

The hosts come from the product's own configuration through the plugin's
`fleet_members` hook (Db2: the instance's sqllib/db2nodes.cfg; WebSphere: the
serverindex.xml of every node of the cell), so the fleet of a case is what the
product says it is, not a list someone keeps by hand. One Ansible group per
unit (`db2_<instance>`, `websphere_<cell>`), the unit's shared facts as group
variables (with `pa_collect_product`, which the role reads), each host's part
as host variables.

Rendered as Ansible's INI format (every value written as a Python literal,
which is how Ansible's INI parser reads values back), or its YAML inventory
format; JSON is the same document as the YAML one (Ansible's yaml inventory
plugin reads .json files too), so all three work with `ansible-playbook -i`.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from collector.boundary import guarded
from collector.errors import BadInput, PluginError
from collector.plugin import Context, FleetMember, Plugin

FORMATS = ("ini", "yaml", "json")
# Plain YAML keys: anything else (an address, a number, true/no/null...) is quoted.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"}


@dataclass
class Group:
    """One Ansible group: a Db2 instance, a WebSphere cell."""

    name: str
    vars: dict[str, Any]
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Inventory:
    product: str
    collected_on: str
    groups: tuple[Group, ...]

    def document(self) -> dict[str, Any]:
        """Ansible's YAML inventory structure (the JSON output too)."""
        children = {
            group.name: {"hosts": {h: dict(v) for h, v in group.hosts.items()}, "vars": group.vars}
            for group in self.groups
        }
        return {"all": {"children": children}}


def build_inventory(plugin: Plugin, ctx: Context, supported: list[str]) -> Inventory:
    """The plugin's fleet as groups; BadInput (exit 2) when the product cannot
    name its hosts, names none, or gives one host two different roles."""
    members, error = guarded(lambda: plugin.fleet_members(ctx))
    if error is not None:
        raise PluginError(f"{plugin.name} failed to list its hosts: {error}")
    if members is None:
        raise BadInput(
            f"{plugin.name} cannot list the hosts it spans; products that can: "
            + (", ".join(supported) or "none installed")
        )
    if not members:
        raise BadInput(
            f"{plugin.name}: found no hosts in its configuration on this host "
            "(is the product installed here? check --sysroot and the selection options)"
        )
    groups: dict[str, Group] = {}
    for member in members:
        _add(groups, plugin.name, member)
    _check_host_vars_agree(list(groups.values()))
    return Inventory(plugin.name, ctx.host.hostname(), tuple(groups.values()))


def supports_fleet(plugin: Plugin) -> bool:
    """Whether the plugin implements the fleet_members hook."""
    return type(plugin).fleet_members is not Plugin.fleet_members


def group_name(product: str, unit: str) -> str:
    """An Ansible group name: letters, digits and underscores only."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{product}_{unit}")


def _add(groups: dict[str, Group], product: str, member: FleetMember) -> None:
    name = group_name(product, member.group)
    group = groups.get(name)
    if group is None:
        group_vars = {"pa_collect_product": product, **member.group_vars}
        group = groups[name] = Group(name, group_vars)
    group.hosts.setdefault(member.host, {}).update(member.host_vars)


def _check_host_vars_agree(groups: list[Group]) -> None:
    """Ansible keeps one set of variables per host: a host in two groups must
    not need two different values of one variable."""
    seen: dict[tuple[str, str], tuple[str, Any]] = {}
    for group in groups:
        for host, host_vars in group.hosts.items():
            for key, value in host_vars.items():
                earlier = seen.setdefault((host, key), (group.name, value))
                if earlier[1] != value:
                    raise BadInput(
                        f"host {host} is in {earlier[0]} and {group.name} with different "
                        f"{key}: choose one (--instance, --profile-name)"
                    )


def render(inventory: Inventory, form: str) -> str:
    if form == "ini":
        return render_ini(inventory)
    if form == "yaml":
        return render_yaml(inventory)
    if form == "json":
        return json.dumps(inventory.document(), indent=2) + "\n"
    raise BadInput(f"unknown inventory format {form!r}: use one of {', '.join(FORMATS)}")


def _header(inventory: Inventory) -> str:
    return (
        f"# Ansible inventory of the {inventory.product} hosts, from the product's "
        f"configuration on {inventory.collected_on}\n"
        f"# written by: pa-collect inventory --product {inventory.product}\n"
    )


def render_ini(inventory: Inventory) -> str:
    lines = [_header(inventory)]
    for group in inventory.groups:
        lines.append(f"[{group.name}]")
        for host, host_vars in group.hosts.items():
            assignments = [shlex.quote(f"{k}={v!r}") for k, v in host_vars.items()]
            lines.append(" ".join([host, *assignments]))
        lines += ["", f"[{group.name}:vars]"]
        lines += [f"{key}={value!r}" for key, value in group.vars.items()]
        lines.append("")
    return "\n".join(lines)


def render_yaml(inventory: Inventory) -> str:
    """Block-style YAML; every scalar and flow list written as JSON, which YAML
    reads as the same value (so no YAML library is needed to write it)."""
    lines = [_header(inventory).rstrip("\n"), "all:", "  children:"]
    for group in inventory.groups:
        lines += [f"    {_yaml_key(group.name)}:", "      hosts:"]
        for host, host_vars in group.hosts.items():
            lines.append(f"        {_yaml_key(host)}:" + ("" if host_vars else " {}"))
            lines += [f"          {_yaml_key(k)}: {json.dumps(v)}" for k, v in host_vars.items()]
        lines.append("      vars:")
        lines += [f"        {_yaml_key(k)}: {json.dumps(v)}" for k, v in group.vars.items()]
    return "\n".join(lines) + "\n"


def _yaml_key(key: str) -> str:
    if _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS:
        return key
    return json.dumps(key)
