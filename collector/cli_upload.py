"""`pa-collect upload`, `pa-collect uploads`, and the upload step of `collect --upload`.

Thin commands over collector.upload; the transport, resume and receipts live
there. A failed upload exits 3 and never touches the bundle.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from collector.bundle import BundleError, open_bundle
from collector.errors import BadInput
from collector.host import Host
from collector.profile import Profile, find_profile
from collector.upload import Receipt, list_receipts, read_token, target_from_settings, upload_bundle


@dataclass(frozen=True)
class UploadOptions:
    upload_url: str | None = None
    token_file: Path | None = None
    ca_bundle: Path | None = None
    insecure: bool = False


def upload_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that uploads shares."""
    for option in reversed(
        (
            click.option(
                "--upload-url",
                metavar="URL",
                help="Intake tus endpoint (https://host/files/) or sftp://user@host/folder; "
                "default: upload_url or sftp_* on the customer card.",
            ),
            click.option(
                "--token-file",
                type=click.Path(path_type=Path, dir_okay=False),
                help="File holding the intake API token (default: $PA_COLLECT_TOKEN). "
                "Never on the command line.",
            ),
            click.option(
                "--ca-bundle",
                type=click.Path(path_type=Path, dir_okay=False),
                help="CA certificates to verify the intake's TLS certificate.",
            ),
            click.option(
                "--insecure",
                is_flag=True,
                help="Do not verify TLS certificates (prints a warning; for tests only).",
            ),
        )
    ):
        function = option(function)
    return function


def send(
    bundle: Path,
    host: Host,
    profile: Profile,
    case: str,
    options: UploadOptions,
    show_progress: bool,
) -> Receipt:
    """Upload (or resume) one bundle; raises UploadFailed (exit 3) on failure."""
    target = target_from_settings(profile.upload, options.upload_url, home=host.home)
    progress = TransferLine() if show_progress else None
    try:
        return upload_bundle(
            bundle,
            target,
            token=read_token(host, options.token_file),
            case=case,
            customer=profile.customer_number,
            contract=profile.contract_number,
            host=host,
            ca_bundle=options.ca_bundle,
            insecure=options.insecure,
            progress=progress,
        )
    finally:
        if progress:
            progress.clear()


def render_receipt(receipt: Receipt) -> str:
    ident = receipt.attachment_id or "-"
    return (
        f"Uploaded {receipt.filename}: {receipt.status}, attachment {ident}, "
        f"{receipt.bytes} bytes, sha256 {receipt.sha256[:16]}..., {receipt.finished}"
    )


class TransferLine:
    """Bytes, rate and ETA on one self-overwriting terminal line."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-3)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0
        line = (
            f"uploading {done / 2**20:8.1f}/{total / 2**20:.1f} MiB  "
            f"{rate / 2**20:6.1f} MiB/s  ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        )
        click.echo(f"\r{line:<78}", nl=False, err=True)

    def clear(self) -> None:
        click.echo("\r" + " " * 78 + "\r", nl=False, err=True)


def _bundle_identity(bundle: Path, case: str | None, profile: Profile) -> tuple[str, Profile]:
    """Case and card for an existing bundle: from its manifest when it can be read
    (an encrypted one cannot), else from --case and the customer card."""
    try:
        manifest = open_bundle(bundle).manifest
    except BundleError:
        manifest = {}
    customer = manifest.get("customer") or {}
    case_id = case or (manifest.get("case") or {}).get("id")
    number = customer.get("customer_number") or profile.customer_number
    contract = customer.get("contract_number") or profile.contract_number
    if not case_id:
        raise BadInput(f"{bundle} names no case: give --case")
    if not number or not contract:
        raise BadInput("customer or contract number unknown: set them on the customer card")
    card = Profile(customer_number=number, contract_number=contract, upload=profile.upload)
    return case_id, card


def register(cli: click.Group) -> None:
    @cli.command("upload")
    @click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @click.option(
        "--case",
        "case_number",
        metavar="TS012345678",
        help="Case to attach to (default: the bundle's own).",
    )
    @click.option(
        "--profile",
        "profile_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Customer card with the upload target (default lookup as `collect`).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the receipt as JSON.")
    @upload_options
    def upload_command(
        bundle: Path,
        case_number: str | None,
        profile_path: Path | None,
        as_json: bool,
        **options: Any,
    ) -> None:
        """Upload a bundle to its service request, or resume an interrupted upload.

        Resumes from what the intake already has, even after the process or the
        machine restarted. Exit 3 when the upload fails; the bundle is kept.
        """
        host = Host.from_process()
        profile, _ = find_profile(host, profile_path)
        case, card = _bundle_identity(bundle, case_number, profile)
        receipt = send(
            bundle, host, card, case, UploadOptions(**options), sys.stderr.isatty() and not as_json
        )
        click.echo(json.dumps(receipt.to_dict(), indent=2) if as_json else render_receipt(receipt))

    @cli.command("uploads")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def uploads_command(as_json: bool) -> None:
        """List the receipts of earlier uploads, oldest first."""
        receipts = list_receipts(Host.from_process())
        if as_json:
            click.echo(json.dumps([r.to_dict() for r in receipts], indent=2))
            return
        for receipt in receipts:
            click.echo(render_receipt(receipt))
        if not receipts:
            click.echo("no uploads yet")
