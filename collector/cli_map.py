"""`pa-collect map ...`: the private obfuscation map of a case.

`new` makes one with a fresh key, `add` seeds it with names and addresses
before any run (the fleet playbook seeds every inventory host, so each bundle
maps the others' names the same way), `merge` unions the maps that several
hosts' runs grew, and `lookup` answers "what was this?" and "what became of
that?". The map never leaves the customer: it is not part of any bundle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from collector.errors import BadInput, ExitStatus
from collector.obfuscate import Obfuscator, check_keywords, parse_kinds, read_keyword_file
from collector.obfuscation_map import load_map, load_or_create, new_map

MAP_EXIT_HELP = """\b
Exit codes:
  0  done (lookup: found)
  1  lookup: the value is not in the map
  2  bad input: a missing, unreadable or malformed map, a map other users can
     read, different keys, a value that is not of its kind"""

map_file = click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
SEEDS = (("hostname", "--hostname"), ("ip", "--ip"), ("mac", "--mac"), ("user", "--user"))


def register(cli: click.Group) -> None:
    cli.add_command(map_group, "map")


@click.group("map", epilog=MAP_EXIT_HELP)
def map_group() -> None:
    """The private obfuscation map (--obfuscate, --map): its key makes every
    replacement, its entries are your reverse lookup. Keep it; never send it."""


@map_group.command("new", epilog=MAP_EXIT_HELP)
@map_file
def map_new(file: Path) -> None:
    """Create FILE (mode 0600) with a fresh random key; refuses to overwrite."""
    created = new_map(file)
    click.echo(f"Wrote {file} (map {created.map_id})")


@map_group.command("add", epilog=MAP_EXIT_HELP)
@map_file
@click.option("--hostname", "hostnames", multiple=True, metavar="NAME", help="Host name or FQDN.")
@click.option("--ip", "ips", multiple=True, metavar="ADDRESS", help="IPv4 or IPv6 address.")
@click.option("--mac", "macs", multiple=True, metavar="MAC", help="MAC address.")
@click.option("--user", "users", multiple=True, metavar="NAME", help="User name.")
@click.option("--keyword", "keywords", multiple=True, metavar="WORD", help="Keyword.")
def map_add(
    file: Path,
    hostnames: tuple[str, ...],
    ips: tuple[str, ...],
    macs: tuple[str, ...],
    users: tuple[str, ...],
    keywords: tuple[str, ...],
) -> None:
    """Seed FILE (created if missing) with originals, so that every run with
    the map obfuscates them, on every host, the same way. All options repeat."""
    given = {"hostname": hostnames, "ip": ips, "mac": macs, "user": users, "keyword": keywords}
    if not any(given.values()):
        raise click.UsageError("give at least one of --hostname, --ip, --mac, --user, --keyword")
    mapping = load_or_create(file)
    obfuscator = Obfuscator.for_map(mapping)
    pairs = [
        pair for kind, values in given.items() for v in values for pair in obfuscator.seed(kind, v)
    ]
    obfuscator.save()
    click.echo(f"{file}: {len(pairs)} entries (map {mapping.map_id})")


@map_group.command("merge", epilog=MAP_EXIT_HELP)
@map_file
@click.argument("others", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def map_merge(file: Path, others: tuple[Path, ...]) -> None:
    """Add the entries of the OTHERS (maps with the same key: the copies each
    host's run grew) to FILE."""
    mapping = load_map(file)
    added = sum(mapping.merge(load_map(other, private=False)) for other in others)
    mapping.save()
    click.echo(f"{file}: {added} new entries from {len(others)} map(s)")


@map_group.command("lookup", epilog=MAP_EXIT_HELP)
@map_file
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def map_lookup(ctx: click.Context, file: Path, value: str, as_json: bool) -> None:
    """What VALUE was (given a replacement) or became (given an original). An
    obfuscated IP address is reversed with the key even if the map never
    recorded it."""
    mapping = load_map(file)
    found: list[dict[str, Any]] = [
        {"kind": kind, "original": original, "replacement": replacement}
        for kind, original, replacement in mapping.lookup(value)
    ]
    if not found:
        original = Obfuscator.for_map(mapping).reverse_ip(value)
        if original is not None:
            found.append(
                {"kind": "ip", "original": original, "replacement": value, "computed": True}
            )
    if as_json:
        click.echo(json.dumps({"value": value, "found": found}, indent=2))
    for row in found if not as_json else []:
        note = "\t(computed with the key, if VALUE is a pseudonym)" if row.get("computed") else ""
        click.echo(f"{row['kind']}\t{row['original']} -> {row['replacement']}{note}")
    if not found:
        click.echo(f"{value}: not in {file}", err=True)
        ctx.exit(int(ExitStatus.PROBLEMS))


# --- the collect command's obfuscation options (applied in collector.cli) -----


def _kinds(ctx: click.Context, param: click.Parameter, value: str | None) -> frozenset[str]:
    return parse_kinds(value) if value is not None else frozenset()


def obfuscation_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--obfuscate, --keyword, --keyword-file and --map for `collect`."""
    for option in reversed(
        (
            click.option(
                "--obfuscate",
                metavar="KINDS",
                callback=_kinds,
                help="Replace host names, IP addresses, MACs and user names with "
                "consistent pseudonyms: a comma list of hostnames, ips, macs, users, or all.",
            ),
            click.option(
                "--keyword",
                "keywords",
                multiple=True,
                metavar="WORD",
                help="Also replace WORD (case-insensitive; repeatable).",
            ),
            click.option(
                "--keyword-file",
                type=click.Path(path_type=Path, dir_okay=False),
                help="Keywords to replace, one per line (# comments).",
            ),
            click.option(
                "--map",
                "map_path",
                type=click.Path(path_type=Path, dir_okay=False),
                help="The private obfuscation map (created if missing, mode 0600; never "
                "in the bundle). Default: obfuscation-map.json in the user's state folder.",
            ),
        )
    ):
        command = option(command)
    return command


def obfuscation_request(options: dict[str, Any]) -> dict[str, Any]:
    """The CollectRequest fields for the options; a bad keyword file or map is
    reported now, before any time is spent collecting."""
    keywords = list(options["keywords"])
    if options["keyword_file"] is not None:
        keywords += read_keyword_file(options["keyword_file"])
    kinds: frozenset[str] = options["obfuscate"]
    map_path: Path | None = options["map_path"]
    if map_path is not None and not kinds and not keywords:
        raise BadInput("--map needs --obfuscate or --keyword")
    if map_path is not None and map_path.exists():
        load_map(map_path)
    return {
        "obfuscate": kinds,
        "keywords": check_keywords(keywords),
        "obfuscation_map": map_path,
    }
