"""`pa-collect inventory` and `pa-collect fleet summary`: one case, many hosts.

`inventory` prints an Ansible inventory of the hosts a product spans, read from
the product's own configuration (collector.inventory). `fleet summary` turns
the results folder that the Ansible play (deploy/ansible/collect.yml) fills
into fleet.json and a readable table (collector.fleet). Errors become exit
codes in collector.cli.main, as everywhere else.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from collector.discovery import discover_plugins
from collector.errors import BadInput
from collector.fleet import render_table as render_fleet_table
from collector.fleet import write_summary
from collector.host import Host
from collector.inventory import FORMATS, build_inventory, render, supports_fleet
from collector.plugin import Context

INVENTORY_EXIT_HELP = """\b
Exit codes:
  0  inventory printed
  2  unknown product, a product that cannot list its hosts, no hosts found,
     bad usage"""

SUMMARY_EXIT_HELP = """\b
Exit codes:
  0  fleet.json and fleet.txt written (read them for each host's status)
  2  not a results folder, or it cannot be written"""


def register(cli: click.Group) -> None:
    """Add `inventory` and the `fleet` group to the pa-collect command group."""
    cli.add_command(inventory_command, "inventory")
    cli.add_command(fleet_group, "fleet")


@click.command(epilog=INVENTORY_EXIT_HELP)
@click.option(
    "--product",
    required=True,
    metavar="NAME",
    help="Product whose hosts to list (db2: the instance's db2nodes.cfg; websphere: "
    "the cell's nodes).",
)
@click.option("--instance", help="Db2 instance (default: every instance on this host).")
@click.option("--profile-name", help="WebSphere profile to read the cell from (default: all).")
@click.option(
    "--format",
    "form",
    type=click.Choice(FORMATS),
    default="ini",
    show_default=True,
    help="Ansible INI, or Ansible's YAML inventory (json: the same document as JSON).",
)
@click.option(
    "--sysroot",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Read the product's configuration under this folder instead of /.",
)
def inventory_command(
    product: str, instance: str | None, profile_name: str | None, form: str, sysroot: Path | None
) -> None:
    """Print an Ansible inventory of the hosts the product's configuration names.

    One group per Db2 instance (db2_<instance>) or WebSphere cell
    (websphere_<cell>), with the product and selection as group variables, for
    `ansible-playbook -i FILE deploy/ansible/collect.yml`.
    """
    host = Host.from_process(sysroot)
    discovered = discover_plugins()
    name = product.strip().lower()
    plugin = discovered.plugins.get(name)
    if plugin is None:
        known = ", ".join(sorted(discovered.plugins))
        raise BadInput(f"unknown product {product!r}: installed plugins are {known}")
    selection = {k: v for k, v in (("instance", instance), ("profile_name", profile_name)) if v}
    supported = sorted(n for n, p in discovered.plugins.items() if supports_fleet(p))
    inventory = build_inventory(plugin, Context(host=host, selection=selection), supported)
    click.echo(render(inventory, form), nl=False)


@click.group("fleet")
def fleet_group() -> None:
    """One case collected on many hosts (deploy/ansible/collect.yml)."""


@fleet_group.command("summary", epilog=SUMMARY_EXIT_HELP)
@click.argument("results", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print fleet.json instead of the table.")
def summary_command(results: Path, as_json: bool) -> None:
    """Summarise a fleet run from its RESULTS folder, host by host.

    Reads RESULTS/hosts/<host>/ (the play's result.json and the fetched bundle,
    whose sha256 must match what its host reported) and writes RESULTS/fleet.json
    and RESULTS/fleet.txt: per host the status (ok, partial, collection_failed,
    upload_failed, fetch_failed, unreachable, no_result), bundle, sha256, size and
    plugin outcomes.
    """
    summary = write_summary(results)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(render_fleet_table(summary), nl=False)
