"""The command line: thin click commands over the collector's modules.

Errors are turned into one-line messages and documented exit codes here, and
only here (`main`).
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from collector import __version__, cli_bundle, cli_fleet, cli_map, cli_snapshot, cli_upload
from collector.case import DESCRIPTION_FIELDS, SEVERITIES, make_case, read_description
from collector.cli_upload import UploadOptions, send, upload_options
from collector.collect import CollectRequest, applicability, collect, plan_request
from collector.discovery import discover_plugins
from collector.errors import BadInput, ExitStatus, PaCollectError, UploadFailed
from collector.host import Host
from collector.logwindow import parse_since
from collector.password import PASSWORD_ENV, bundle_password
from collector.profile import (
    FIELD_LABELS,
    Profile,
    find_profile,
    profile_from_document,
    to_toml,
    with_overrides,
    write_profile,
)
from collector.runner import Limits
from collector.summary import (
    ProgressLine,
    plan_document,
    render_plan,
    render_summary,
    summary_document,
)
from collector.upload import HttpsTarget, read_token, target_from_settings

# Product selections passed to plugins in Context.selection.
SELECTIONS = ("instance", "database", "profile_name", "qmgr")

EXIT_CODES_HELP = """\b
Exit codes:
  0    bundle written (the summary's status says ok or partial)
  2    bad input or usage
  3    upload failed (the bundle is kept)
  4    no bundle written (disk space, permissions)
  5    another run holds the lock
  130  interrupted (Ctrl-C, SIGTERM)"""

SEVERITY_HELP = "Case severity: " + "; ".join(f"{n} = {text}" for n, text in SEVERITIES.items())


class DefaultToCollect(click.Group):
    """`pa-collect --product db2 ...` means `pa-collect collect --product db2 ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["collect", *args]
        return super().parse_args(ctx, args)


SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A byte size option: 1048576, 512K, 25M, 2G."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)i?b?\s*", str(value), re.IGNORECASE)
    if not match:
        raise click.BadParameter(f"{value!r} is not a size such as 512K, 25M or 2G")
    return int(match.group(1)) * SIZE_UNITS[match.group(2).lower()]


@click.group(
    cls=DefaultToCollect,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="pa-collect")
def cli() -> None:
    """Collect a stage-two diagnostic bundle for an IBM support case.

    Run `pa-collect --product PRODUCT --case TS012345678` (the `collect` command);
    see `pa-collect collect --help` for every option.
    """


@cli.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--product",
    "products",
    multiple=True,
    required=True,
    metavar="NAME",
    help="Product to collect for (repeatable); `pa-collect plugins` lists them. "
    "os and network are always collected.",
)
@click.option("--case", "case_number", metavar="TS012345678", help="Case number: TS + 9 digits.")
@click.option("--pmr", metavar="xxxxx,bbb,ccc", help="PMR number, branch and country.")
@click.option("--severity", type=click.IntRange(1, 4), help=SEVERITY_HELP)
@click.option(
    "--description-file",
    type=click.Path(path_type=Path),
    help="Problem description: TOML with frequency, trigger, steps_to_reproduce "
    "and symptoms, or plain text.",
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(path_type=Path),
    help="Customer card (TOML). Default: $PA_COLLECT_PROFILE, the user config "
    "folder, then /etc/pa-collect/profile.toml.",
)
@click.option("--customer-number", help="IBM customer number (overrides the card).")
@click.option("--contract-number", help="Passport Advantage contract number (overrides the card).")
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Folder the bundle is written to.",
)
@click.option("--batch", is_flag=True, help="Never prompt (for cron and scripts).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("--dry-run", is_flag=True, help="List what would be collected, with a size estimate.")
@click.option(
    "--max-file-size",
    default="25M",
    callback=parse_size,
    show_default=True,
    help="Per-item cap; a larger file keeps its newest bytes and is marked truncated.",
)
@click.option(
    "--max-total-size",
    default="2G",
    callback=parse_size,
    show_default=True,
    help="Cap on everything collected; items past it are skipped.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Items collected at once, so that commands overlap their waits. Compression "
    "already uses every core: more jobs rarely help, and they add load on the host.",
)
@click.option(
    "--level",
    type=click.IntRange(0, 9),
    default=1,
    show_default=True,
    help="Compression as 7-Zip's -mx, on every core: 0 stores, 1 is fast LZMA2 (the "
    "size of 7z -mx1), 2 is about 12% smaller and 20% slower, higher is much slower.",
)
@click.option(
    "--command-timeout",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="Kill any command that runs longer (default: each command's own limit).",
)
@click.option(
    "--encrypt",
    is_flag=True,
    help="AES-256 encrypt the bundle, file names included. The password comes from "
    f"${PASSWORD_ENV}, --password-file or a prompt; never from the command line.",
)
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File whose first line is the bundle password (implies --encrypt).",
)
@click.option(
    "--sysroot",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Read host files under this folder instead of / (mounted images, tests).",
)
@click.option(
    "--since",
    default="14d",
    show_default=True,
    metavar="WHEN",
    help="Keep log records at or after WHEN: a duration (7d, 36h, 90m, 2w), an ISO "
    "date or date-time (2026-11-20, 2026-11-20T08:00, local time unless a zone is "
    "given), or `all`. Records are kept or dropped whole.",
)
@click.option("--instance", help="Db2 instance or Informix server to collect (default: all).")
@click.option("--database", help="Db2 database to collect (default: every local database).")
@click.option("--profile-name", help="WebSphere profile to collect (default: all).")
@click.option("--qmgr", help="MQ queue manager to collect (default: all).")
@click.option(
    "--upload",
    is_flag=True,
    help="Attach the bundle to the case right after collecting (exit 3 if the upload "
    "fails; the bundle is kept and `pa-collect upload BUNDLE` resumes).",
)
@upload_options
@cli_map.obfuscation_options
def collect_command(**options: Any) -> None:
    """Collect a bundle for a case (also the default: `pa-collect --product P`)."""
    host = Host.from_process(options["sysroot"])
    interactive = host.interactive and not options["batch"]
    products = tuple(dict.fromkeys(p.strip().lower() for p in options["products"]))
    since = _since(options["since"], host)
    selection = {key: options[key] for key in SELECTIONS if options[key]}
    if options["dry_run"]:
        anonymous = make_case(None, None, None)
        plan_only = CollectRequest(
            products, Profile(), anonymous, Path("."), since=since, selection=selection
        )
        _dry_run(plan_only, host, options["as_json"])
        return
    upload = _upload_settings(options)
    description = _description(options["description_file"], interactive)
    case = make_case(options["case_number"], options["pmr"], options["severity"], description)
    profile = _customer_card(host, options, interactive)
    if upload:
        _check_upload_ready(host, profile, case.id, upload)
    request = CollectRequest(
        products=products,
        profile=profile,
        case=case,
        output=options["output"],
        limits=Limits(
            options["max_file_size"],
            options["max_total_size"],
            options["jobs"],
            options["command_timeout"],
        ),
        password=_password(host, options, interactive),
        level=options["level"],
        command_line=tuple(sys.argv),
        since=since,
        selection=selection,
        **cli_map.obfuscation_request(options),
    )
    show_progress = sys.stdout.isatty() and not options["as_json"]
    progress = ProgressLine(lambda text: click.echo(text, nl=False, err=True))
    result = collect(request, host, progress if show_progress else None)
    if show_progress:
        progress.clear()
    summary = summary_document(
        result.manifest, str(result.bundle), result.bundle_size, result.bundle_sha256
    )
    failure = None
    if upload and case.id:
        try:
            receipt = send(
                result.bundle,
                host,
                profile,
                case.id,
                upload,
                sys.stderr.isatty() and not options["as_json"],
            )
            summary["upload"] = receipt.to_dict()
        except UploadFailed as error:
            failure = error
            summary["upload"] = {"error": str(error)}
    if options["as_json"]:
        click.echo(json.dumps(summary, indent=2))
        click.echo(render_summary(summary, result.manifest), err=True)
    else:
        click.echo(render_summary(summary, result.manifest))
    if failure is not None:
        raise failure  # exit 3, after the summary has named the kept bundle


def _upload_settings(options: dict[str, Any]) -> UploadOptions | None:
    if not options["upload"]:
        return None
    return UploadOptions(
        options["upload_url"], options["token_file"], options["ca_bundle"], options["insecure"]
    )


def _check_upload_ready(
    host: Host, profile: Profile, case_id: str | None, upload: UploadOptions
) -> None:
    """Fail on a missing case, target or token before spending time collecting."""
    if case_id is None:
        raise BadInput("--upload needs the case: give --case or --pmr")
    target = target_from_settings(profile.upload, upload.upload_url, home=host.home)
    if isinstance(target, HttpsTarget) and not read_token(host, upload.token_file):
        raise BadInput("--upload needs the intake token: set $PA_COLLECT_TOKEN or --token-file")


cli.add_command(collect_command, "collect")


def _since(text: str, host: Host) -> datetime | None:
    if text.strip().lower() in ("all", "none", "0"):
        return None
    try:
        return parse_since(text, host.now())
    except ValueError as error:
        raise BadInput(str(error)) from None


def _dry_run(request: CollectRequest, host: Host, as_json: bool) -> None:
    _, _, plans = plan_request(request, host)
    if as_json:
        click.echo(json.dumps(plan_document(plans), indent=2))
    else:
        click.echo(render_plan(plans))


def _description(path: Path | None, interactive: bool) -> dict[str, str]:
    if path is not None:
        return read_description(path)
    if not interactive:
        return {}
    click.echo("Describe the problem (Enter skips a question):", err=True)
    answers = {
        key: click.prompt(question, default="", show_default=False, err=True)
        for key, question in DESCRIPTION_FIELDS.items()
    }
    return {key: value.strip() for key, value in answers.items() if value.strip()}


def _customer_card(host: Host, options: dict[str, Any], interactive: bool) -> Profile:
    profile, found_at = find_profile(host, options["profile_path"])
    profile = with_overrides(
        profile,
        customer_number=options["customer_number"],
        contract_number=options["contract_number"],
    )
    for key, flag in (
        ("customer_number", "--customer-number"),
        ("contract_number", "--contract-number"),
    ):
        if getattr(profile, key):
            continue
        if not interactive:
            where = found_at or host.config_dir / "profile.toml"
            raise BadInput(
                f"{FIELD_LABELS[key]} is missing: set {key} in {where} "
                f"(pa-collect profile init) or pass {flag}"
            )
        profile = click.prompt(FIELD_LABELS[key], err=True, value_proc=_card_with(profile, key))
    return profile


def _card_with(profile: Profile, key: str) -> Callable[[str], Profile]:
    """A prompt answer checker: a bad answer is explained and asked again."""

    def check(answer: str) -> Profile:
        try:
            return with_overrides(profile, **{key: answer.strip()})
        except BadInput as error:
            raise click.UsageError(str(error).split(": ", 1)[-1]) from None

    return check


def _password(host: Host, options: dict[str, Any], interactive: bool) -> str | None:
    if options["password_file"] is None and not options["encrypt"]:
        return None
    return bundle_password(
        host,
        options["password_file"],
        interactive=interactive,
        confirm=True,
        why="--encrypt needs a password",
    )


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--sysroot",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Detect against this folder instead of /.",
)
def plugins_command(as_json: bool, sysroot: Path | None) -> None:
    """List the installed plugins and whether each applies to this host, and why."""
    host = Host.from_process(sysroot)
    discovered = discover_plugins()
    rows = []
    for name, plugin in sorted(discovered.plugins.items()):
        answer = applicability(plugin, host)
        rows.append(
            {
                "name": name,
                "kind": "always" if plugin.always else "product",
                "applies": answer.applies,
                "reason": answer.reason,
                "description": plugin.description,
            }
        )
    failures = [{"entry_point": f.entry_point, "error": f.error} for f in discovered.failures]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "load_failures": failures}, indent=2))
        return
    for row in rows:
        state = "applies" if row["applies"] else "does not apply"
        click.echo(f"{row['name']:<12}{row['kind']:<9}{state:<16}{row['reason']}")
    for failure in failures:
        click.echo(f"failed to load {failure['entry_point']}: {failure['error']}")


@cli.group("profile")
def profile_group() -> None:
    """Create or show the customer card (IBM customer number, PA contract, contact)."""


@profile_group.command("init")
@click.option(
    "--profile",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write (default: the user config folder).",
)
def profile_init(path: Path | None) -> None:
    """Ask for each field of the card and write it (mode 0600)."""
    host = Host.from_process()
    target = path or host.config_dir / "profile.toml"
    current, _ = find_profile(host, target if target.is_file() else None)
    document: dict[str, Any] = {}
    for key, label in FIELD_LABELS.items():
        old = getattr(current, key)
        default = ",".join(old) if key == "products" else old
        answer = click.prompt(label, default=default or "", show_default=bool(default)).strip()
        if key == "products":
            document[key] = [p.strip().lower() for p in answer.split(",") if p.strip()]
        elif answer:
            document[key] = answer
    profile = profile_from_document(document, "entered")
    write_profile(profile, target)
    click.echo(f"Wrote {target}")


@profile_group.command("show")
@click.option(
    "--profile",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Card to show (default: the lookup order of `collect`).",
)
def profile_show(path: Path | None) -> None:
    """Print the card that a collection would use, and where it was found."""
    host = Host.from_process()
    profile, found_at = find_profile(host, path)
    if found_at is None:
        raise BadInput("no customer card found (run: pa-collect profile init)")
    click.echo(f"# {found_at}")
    click.echo(to_toml(profile), nl=False)


# Commands of other areas live in their own modules and register themselves here.
cli_bundle.register(cli)
cli_upload.register(cli)
cli_snapshot.register(cli)
cli_fleet.register(cli)
cli_map.register(cli)


def _interrupted(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def main() -> NoReturn:
    signal.signal(signal.SIGTERM, _interrupted)
    # Library warnings (upload retries, --insecure) reach the user as one line each.
    logging.basicConfig(format="pa-collect: %(message)s", level=logging.WARNING)
    try:
        code = cli.main(prog_name="pa-collect", standalone_mode=False)
    except PaCollectError as error:
        click.echo(f"pa-collect: error: {error}", err=True)
        sys.exit(int(error.exit_status))
    except click.exceptions.Abort:
        click.echo("\npa-collect: interrupted", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
    except click.ClickException as error:
        error.show()
        sys.exit(int(ExitStatus.BAD_INPUT))
    except KeyboardInterrupt:
        click.echo("\npa-collect: interrupted; nothing was left behind", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else 0)
