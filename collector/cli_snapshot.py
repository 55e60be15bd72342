"""`pa-collect snapshot`, `snapshots`, `diff` and `schedule install|list|remove`.

Thin commands over collector.snapshot, retention, diff, schedule and timer.
Exit codes (mapped in collector.cli.main): 0 snapshot written, or skipped by the
disk guard (status "skipped", with a warning); 2 bad input (no customer card);
3 upload failed (the snapshot is kept); 4 nothing written; 5 another snapshot of
the same folder is running.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from collector.bundle import BundleError, open_bundle
from collector.case import make_case
from collector.cli_upload import UploadOptions, send, upload_options
from collector.diff import diff_bundles, render_diff
from collector.discovery import discover_plugins
from collector.errors import BadInput, UploadFailed
from collector.host import Host
from collector.profile import FIELD_LABELS, Profile, find_profile, with_overrides
from collector.retention import StoredSnapshot, stored_snapshots
from collector.schedule import Entry, Every, find_executable, install_cron, list_cron, remove_cron
from collector.schedule import cron_line as cron_command
from collector.snapshot import (
    SKIPPED,
    Identity,
    SnapshotOptions,
    SnapshotOutcome,
    default_folder,
    prepare_folder,
    take_snapshot,
)
from collector.summary import ProgressLine, summary_document
from collector.timer import (
    enable_hint,
    install_units,
    list_units,
    remove_units,
    render_service,
    render_timer,
    unit_folder,
    unit_names,
)

LOG_NAME = "pa-collect-snapshot.log"
SNAPSHOT_EXIT_CODES = """\b
Exit codes:
  0  snapshot written (status ok or partial), or skipped: free space below
     --min-free (status "skipped", a warning on stderr)
  2  bad input (unknown product, no customer card)
  3  upload failed (the snapshot is kept)
  4  nothing written (permissions)
  5  another snapshot of the same folder is running"""
SIZES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """512K, 25M, 2G, 2GB, or bytes."""
    found = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)i?b?\s*", str(value), re.IGNORECASE)
    if not found:
        raise click.BadParameter(f"{value!r} is not a size such as 512M, 2G or 2GB")
    return int(found.group(1)) * SIZES[found.group(2).lower()]


def snapshot_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """What a snapshot run takes; `schedule install` passes them on."""
    for option in reversed(
        (
            click.option("--product", required=True, metavar="NAME", help="Product to snapshot."),
            click.option(
                "--output",
                type=click.Path(path_type=Path, file_okay=False),
                help="Snapshot folder (default: <state folder>/snapshots/<product>, mode 0700).",
            ),
            click.option(
                "--keep",
                type=click.IntRange(min=1),
                default=96,
                show_default=True,
                help="Snapshots kept; older ones are deleted, oldest first.",
            ),
            click.option(
                "--max-size",
                default="2G",
                callback=parse_size,
                show_default=True,
                help="Total size the kept snapshots stay under.",
            ),
            click.option(
                "--min-free",
                default="1G",
                callback=parse_size,
                show_default=True,
                help="Skip the run (exit 0, status skipped) when less space is free.",
            ),
            click.option(
                "--budget",
                type=click.FloatRange(min=1),
                default=120.0,
                show_default=True,
                metavar="SECONDS",
                help="Time for the whole run; commands still running are killed.",
            ),
            click.option(
                "--profile",
                "profile_path",
                type=click.Path(path_type=Path, dir_okay=False),
                help="Customer card (default: the lookup order of `collect`).",
            ),
            click.option("--case", "case_number", metavar="TS012345678", help="Case for --upload."),
            click.option("--upload", is_flag=True, help="Attach each snapshot to --case."),
            click.option(
                "--sysroot",
                type=click.Path(path_type=Path, file_okay=False, exists=True),
                help="Read host files under this folder instead of / (images, tests).",
            ),
        )
    ):
        function = option(function)
    return function


# --- snapshot ----------------------------------------------------------------------


def run_snapshot(options: dict[str, Any]) -> None:
    host = Host.from_process(options["sysroot"])
    product = _known_product(options["product"])
    if options["upload"] and not options["case_number"]:
        raise BadInput("--upload needs the case: give --case")
    identity = Identity(
        profile=_card(host, options),
        case=make_case(options["case_number"], None, None),
        command_line=tuple(sys.argv),
    )
    settings = SnapshotOptions(
        product=product,
        folder=options["output"] or default_folder(host, product),
        keep=options["keep"],
        max_size=options["max_size"],
        min_free=options["min_free"],
        budget=options["budget"],
    )
    progress = _progress(options)
    outcome = take_snapshot(settings, identity, host, progress)
    if progress:
        progress.clear()
    upload, failure = _upload(outcome, host, identity, options)
    _report(outcome, options["as_json"], upload)
    if failure is not None:
        raise failure  # exit 3, after the report has named the kept snapshot


def _known_product(name: str) -> str:
    product = name.strip().lower()
    known = discover_plugins().plugins
    if product not in known:
        raise BadInput(f"unknown product {product!r} (available: {', '.join(sorted(known))})")
    return product


def _card(host: Host, options: dict[str, Any]) -> Profile:
    profile, found_at = find_profile(host, options["profile_path"])
    profile = with_overrides(
        profile,
        customer_number=options.get("customer_number"),
        contract_number=options.get("contract_number"),
    )
    for key in ("customer_number", "contract_number"):
        if not getattr(profile, key):
            where = found_at or host.config_dir / "profile.toml"
            raise BadInput(
                f"{FIELD_LABELS[key]} is missing: set {key} in {where} (pa-collect profile init)"
            )
    return profile


def _progress(options: dict[str, Any]) -> ProgressLine | None:
    if options["batch"] or options["as_json"] or not sys.stderr.isatty():
        return None
    return ProgressLine(lambda text: click.echo(text, nl=False, err=True))


def _upload(
    outcome: SnapshotOutcome, host: Host, identity: Identity, options: dict[str, Any]
) -> tuple[dict[str, Any] | None, UploadFailed | None]:
    """With --upload: (the receipt or the error for the report, the failure)."""
    if not options["upload"] or outcome.result is None or identity.case.id is None:
        return None, None
    upload = UploadOptions(
        options["upload_url"], options["token_file"], options["ca_bundle"], options["insecure"]
    )
    bundle, case = outcome.result.bundle, identity.case.id
    try:
        receipt = send(bundle, host, identity.profile, case, upload, show_progress=False)
    except UploadFailed as error:
        return {"error": str(error)}, error
    return receipt.to_dict(), None


def snapshot_document(outcome: SnapshotOutcome) -> dict[str, Any]:
    if outcome.result is None:
        return {"kind": "snapshot", "status": SKIPPED, "reason": outcome.reason, "bundle": None}
    result = outcome.result
    document = summary_document(
        result.manifest, str(result.bundle), result.bundle_size, result.bundle_sha256
    )
    document.update(kind="snapshot", deleted=[str(p) for p in outcome.deleted])
    return document


def render_snapshot(outcome: SnapshotOutcome) -> str:
    if outcome.result is None:
        return f"snapshot skipped: {outcome.reason}"
    manifest = outcome.result.manifest
    items = manifest["items"]
    trouble = [i for i in items if i["outcome"] in ("failed", "timed_out")]
    lines = [
        f"{manifest['created']} snapshot {outcome.result.bundle}: {manifest['status']}, "
        f"{outcome.result.bundle_size} bytes, {len(items)} items, "
        f"{len(trouble)} failed or timed out, {len(outcome.deleted)} old snapshot(s) deleted"
    ]
    lines += [f"  {i['outcome']} {i['plugin']} {i['source']}: {i['reason']}" for i in trouble]
    lines += [f"  warning: {w}" for w in manifest["warnings"]]
    return "\n".join(lines)


def _report(outcome: SnapshotOutcome, as_json: bool, upload: dict[str, Any] | None) -> None:
    document = snapshot_document(outcome)
    if upload is not None:
        document["upload"] = upload
    if as_json:
        click.echo(json.dumps(document, indent=2))
    elif outcome.result is not None:  # a skipped run has said so as a warning
        click.echo(render_snapshot(outcome))
        if upload is not None:
            click.echo(f"  upload: {upload.get('error') or upload.get('status')}")


# --- snapshots ---------------------------------------------------------------------


def listing(host: Host, product: str | None, folder: Path | None) -> list[dict[str, Any]]:
    if folder is not None:
        folders = [folder]
    elif product is not None:
        folders = [default_folder(host, product)]
    else:
        root = host.state_dir / "snapshots"
        folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return [_row(s) for f in folders for s in stored_snapshots(f, product)]


def _row(snapshot: StoredSnapshot) -> dict[str, Any]:
    try:
        status = str(open_bundle(snapshot.path).manifest.get("status"))
    except BundleError:
        status = "unreadable"
    return {
        "product": snapshot.product,
        "created": snapshot.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "size": snapshot.size,
        "status": status,
        "path": str(snapshot.path),
    }


# --- schedule ----------------------------------------------------------------------


def make_entry(host: Host, options: dict[str, Any]) -> tuple[Entry, Path]:
    """The entry, and the snapshot folder it writes to."""
    product = _known_product(options["product"])
    if options["upload"] and not options["case_number"]:
        raise BadInput("--upload needs the case: give --case")
    folder = (options["output"] or default_folder(host, product)).absolute()
    entry = Entry(
        product=product,
        every=Every.parse(options["every"]),
        executable=find_executable(host, sys.argv[0]),
        environment=(("HOME", str(host.home)), ("PATH", host.search_path)),
        options=tuple(_passed_on(options, folder)),
        log=(options["log"] or folder / LOG_NAME).absolute(),
        budget=options["budget"],
    )
    return entry, folder


def _passed_on(options: dict[str, Any], folder: Path) -> list[str]:
    """The snapshot options for the entry, every path made absolute."""
    args = ["--output", str(folder), "--keep", str(options["keep"])]
    args += ["--max-size", str(options["max_size"]), "--min-free", str(options["min_free"])]
    args += ["--budget", f"{options['budget']:g}"]
    for flag, key in (("--profile", "profile_path"), ("--sysroot", "sysroot")):
        if options[key] is not None:
            args += [flag, str(options[key].absolute())]
    if options["upload"]:
        args += ["--upload", "--case", options["case_number"]]
        if options["upload_url"]:
            args += ["--upload-url", options["upload_url"]]
        if options["token_file"]:
            args += ["--token-file", str(options["token_file"].absolute())]
    return args


def install(host: Host, entry: Entry, options: dict[str, Any]) -> list[str]:
    """Write the schedule (or print it); return the lines to show."""
    if options["systemd"]:
        return _install_units(host, entry, options)
    if options["print_only"]:
        return [f"{entry.every.cron(entry.minute)} {cron_command(entry)} # {entry.tag}"]
    where = install_cron(entry, host, options["system"])
    return [f"scheduled a {entry.product} snapshot every {options['every']} in {where}"]


def _install_units(host: Host, entry: Entry, options: dict[str, Any]) -> list[str]:
    if options["print_only"]:
        service, timer = unit_names(entry.product)
        folder = unit_folder(host, options["system"])
        return [
            f"# {folder / service}\n{render_service(entry)}",
            f"# {folder / timer}\n{render_timer(entry)}",
        ]
    written = install_units(entry, host, options["system"])
    return [f"wrote {path}" for path in written] + [
        f"to start it: {enable_hint(entry.product, options['system'])}"
    ]


def card_warning(host: Host, options: dict[str, Any]) -> str | None:
    """Scheduled runs fail (exit 2) without a customer card: say so now."""
    try:
        _card(host, options)
    except BadInput as error:
        return f"warning: scheduled snapshots will fail until this is fixed: {error}"
    return None


# --- registration ------------------------------------------------------------------


def register(cli: click.Group) -> None:
    @cli.command("snapshot", epilog=SNAPSHOT_EXIT_CODES)
    @snapshot_options
    @click.option("--customer-number", help="IBM customer number (overrides the card).")
    @click.option("--contract-number", help="Passport Advantage contract number.")
    @click.option("--batch", is_flag=True, help="No progress line (cron, scripts).")
    @click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
    @upload_options
    def snapshot_command(**options: Any) -> None:
        """Take a light snapshot: quick status, host metrics, configuration, and
        the log records since the previous snapshot; at low priority, within
        --budget, never two at once in one folder, then apply retention."""
        run_snapshot(options)

    @cli.command("snapshots")
    @click.option("--product", metavar="NAME", help="Only this product's snapshots.")
    @click.option(
        "--output",
        type=click.Path(path_type=Path, file_okay=False),
        help="Snapshot folder to list (default: the default folders).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def snapshots_command(product: str | None, output: Path | None, as_json: bool) -> None:
        """List stored snapshots, oldest first, with time, size and status."""
        rows = listing(Host.from_process(), product and product.strip().lower(), output)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            click.echo(
                f"{row['created']}  {row['product']:<10} {row['size']:>12}  "
                f"{row['status']:<10} {row['path']}"
            )
        if not rows:
            click.echo("no snapshots")

    @cli.command("diff")
    @click.argument("a", type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @click.argument("b", type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def diff_command(a: Path, b: Path, as_json: bool) -> None:
        """What changed from bundle A to bundle B (two snapshots, or two
        collections): facts, configuration, files, new log records, metrics."""
        document = diff_bundles(open_bundle(a), open_bundle(b))
        click.echo(json.dumps(document, indent=2) if as_json else render_diff(document))

    register_schedule(cli)


def register_schedule(cli: click.Group) -> None:
    @cli.group("schedule")
    def schedule_group() -> None:
        """Periodic snapshots from cron or a systemd timer."""

    @schedule_group.command("install")
    @snapshot_options
    @click.option("--every", required=True, metavar="15m|1h|1d", help="How often.")
    @click.option(
        "--log",
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"Log file the runs append to (default: <snapshot folder>/{LOG_NAME}).",
    )
    @click.option("--upload-url", metavar="URL", help="Intake for --upload (default: the card).")
    @click.option(
        "--token-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Intake token file for --upload (cron passes no $PA_COLLECT_TOKEN).",
    )
    @click.option("--system", is_flag=True, help="As root: /etc/cron.d or system units.")
    @click.option("--systemd", is_flag=True, help="A systemd service and timer instead of cron.")
    @click.option("--print", "print_only", is_flag=True, help="Print, write nothing.")
    def install_command(**options: Any) -> None:
        """Schedule `pa-collect snapshot` for the invoking user (or the system)."""
        host = Host.from_process()
        entry, folder = make_entry(host, options)
        if not options["print_only"]:
            prepare_folder(folder)  # the log file the entry appends to goes there
        for line in install(host, entry, options):
            click.echo(line)
        warning = card_warning(host, options)
        if warning and not options["print_only"]:
            click.echo(warning, err=True)

    @schedule_group.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def list_command(as_json: bool) -> None:
        """Our schedules: crontab, /etc/cron.d/pa-collect and systemd timers."""
        host = Host.from_process()
        found = list_cron(host) + list_units(host)
        if as_json:
            click.echo(json.dumps([s.as_dict() for s in found], indent=2))
            return
        for entry in found:
            click.echo(f"{entry.product:<10} {entry.schedule:<22} {entry.where}: {entry.command}")
        if not found:
            click.echo("no pa-collect schedules")

    @schedule_group.command("remove")
    @click.option("--product", required=True, metavar="NAME", help="Product to unschedule.")
    @click.option("--system", is_flag=True, help="From /etc/cron.d or the system units.")
    @click.option("--systemd", is_flag=True, help="The systemd units instead of cron.")
    def remove_command(product: str, system: bool, systemd: bool) -> None:
        """Remove the product's schedule; nothing else is touched."""
        host = Host.from_process()
        product = product.strip().lower()
        if systemd:
            removed, what = len(remove_units(host, product, system)), "systemd unit(s)"
        else:
            removed, what = remove_cron(host, product, system), "cron entry(ies)"
        click.echo(f"removed {removed} {what} of {product}")
