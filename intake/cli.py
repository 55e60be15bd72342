"""`pa-intake`: thin click commands over the intake's modules.

Errors become one line on stderr and an exit status here, and only here (`main`):
0 success, 2 bad input or usage (an unknown case or bundle included).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from collector.errors import ExitStatus, PaCollectError

from .auth import Registry
from .errors import IntakeError
from .identifiers import check_customer, check_engineer, normalize_case
from .settings import Settings, parse_duration, parse_size
from .store import Store

STORAGE_ENV = "PA_INTAKE_STORAGE"
DEFAULT_STORAGE = "/var/lib/pa-intake"
F = TypeVar("F", bound=Callable[..., Any])


def storage_option(command: F) -> F:
    option = click.option(
        "--storage",
        type=click.Path(file_okay=False, path_type=Path),
        envvar=STORAGE_ENV,
        default=DEFAULT_STORAGE,
        show_default=True,
        help=f"The intake's storage folder (or ${STORAGE_ENV}).",
    )
    return option(command)


def _parsed(parse: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, str], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: str) -> Any:
        try:
            return parse(value)
        except IntakeError as error:
            raise click.BadParameter(str(error)) from None

    return callback


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """The reference service-request intake server for pa-collect bundles."""


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@storage_option
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), help="PEM chain.")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), help="PEM key.")
@click.option(
    "--max-size",
    default="10G",
    show_default=True,
    callback=_parsed(parse_size),
    help="Largest upload accepted (Tus-Max-Size).",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(1),
    default=4,
    show_default=True,
    help="Uploads transferring at once; more get 429.",
)
@click.option(
    "--expire-after",
    default="24h",
    show_default=True,
    callback=_parsed(parse_duration),
    help="An idle partial upload is removed after this long (1s, 30m, 24h, 7d).",
)
@click.option(
    "--read-timeout",
    default="60s",
    show_default=True,
    callback=_parsed(parse_duration),
    help="A PATCH whose body stalls this long is cut off.",
)
def serve_command(
    host: str,
    port: int,
    storage: Path,
    tls_cert: Path | None,
    tls_key: Path | None,
    max_size: int,
    max_concurrent: int,
    expire_after: float,
    read_timeout: float,
) -> None:
    """Serve the tus upload endpoint <base>/files/ and the engineers' endpoints."""
    # Imported here: the web stack is not needed by the token, case and list commands.
    from .server import serve

    settings = Settings(
        storage=storage,
        max_size=max_size,
        max_concurrent=max_concurrent,
        expire_after=expire_after,
        read_timeout=read_timeout,
    )
    serve(settings, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)


@cli.group("token")
def token_group() -> None:
    """API tokens: one per customer system or engineer, stored hashed."""


@token_group.command("add")
@click.option("--customer", help="IBM customer number the token uploads for.")
@click.option("--engineer", help="Name of the support engineer the token is for.")
@storage_option
def token_add(customer: str | None, engineer: str | None, storage: Path) -> None:
    """Make a token and print it once; only its hash is kept."""
    if (customer is None) == (engineer is None):
        raise IntakeError("give either --customer NUMBER or --engineer NAME")
    registry = Registry(storage)
    if customer is not None:
        token = registry.add_token(customer=check_customer(customer))
    else:
        token = registry.add_token(engineer=check_engineer(str(engineer)))
    click.echo(token)


@token_group.command("list")
@storage_option
def token_list(storage: Path) -> None:
    """Token ids and owners (never the tokens)."""
    for token in Registry(storage).token_list():
        click.echo(f"{token['id']}  {token['kind']:<9} {token['owner']}  {token['created']}")


@token_group.command("revoke")
@click.argument("token_id")
@storage_option
def token_revoke(token_id: str, storage: Path) -> None:
    """Revoke a token by its id (the part after `pai_`)."""
    Registry(storage).revoke_token(token_id)
    click.echo(f"revoked {token_id}")


@cli.group("case")
def case_group() -> None:
    """The cases uploads are accepted for."""


@case_group.command("add")
@click.argument("case")
@click.option("--customer", required=True, help="IBM customer number the case belongs to.")
@storage_option
def case_add(case: str, customer: str, storage: Path) -> None:
    """Register a case (TS012345678 or PMR 12345,678,672) for a customer."""
    case_id = normalize_case(case)
    added = Registry(storage).add_case(case_id, check_customer(customer))
    click.echo(f"{'registered' if added else 'already registered'}: {case_id} -> {customer}")


@cli.command("list")
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@storage_option
def list_command(case: str, as_json: bool, storage: Path) -> None:
    """List the bundles stored for a case."""
    bundles = Store(_existing(storage)).bundles(case)
    if as_json:
        click.echo(json.dumps([b.as_dict() for b in bundles], indent=2))
        return
    for b in bundles:
        click.echo(f"{b.filename}  {b.size}  {b.sha256}  {b.attachment_id}  {b.received_at}")


@cli.command("get")
@click.argument("case")
@click.argument("name")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (default: NAME in this folder; - for stdout).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@storage_option
def get_command(case: str, name: str, output: Path | None, force: bool, storage: Path) -> None:
    """Copy one stored bundle out, checking its sha256 on the way."""
    store = Store(_existing(storage))
    source = store.bundle_path(case, name)
    expected = {b.filename: b.sha256 for b in store.bundles(case)}[source.name]
    if output is not None and str(output) == "-":
        digest = _copy(source, sys.stdout.buffer)
    else:
        target = output or Path(source.name)
        if target.exists() and not force:
            raise IntakeError(f"{target} exists; give --force to overwrite it")
        temp = target.with_name(f".{target.name}.part")
        with temp.open("wb") as stream:
            digest = _copy(source, stream)
        os.replace(temp, target)
        click.echo(f"{target}  {digest}", err=True)
    if digest != expected:
        raise IntakeError(f"{source.name}: sha256 {digest} differs from the recorded {expected}")


def _copy(source: Path, stream: Any) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as reader:
        while chunk := reader.read(1024 * 1024):
            digest.update(chunk)
            stream.write(chunk)
    stream.flush()
    return digest.hexdigest()


def _existing(storage: Path) -> Path:
    if not storage.is_dir():
        raise IntakeError(f"no intake storage at {storage} (give --storage)")
    return storage


def main() -> NoReturn:
    try:
        code = cli.main(prog_name="pa-intake", standalone_mode=False)
    except PaCollectError as error:
        click.echo(f"pa-intake: error: {error}", err=True)
        sys.exit(int(error.exit_status))
    except click.exceptions.Abort:
        click.echo("pa-intake: interrupted", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
    except click.ClickException as error:
        click.echo(f"pa-intake: error: {error.format_message()}", err=True)
        sys.exit(int(ExitStatus.BAD_INPUT))
    except OSError as error:
        click.echo(f"pa-intake: error: {error.strerror or error}: {error.filename}", err=True)
        sys.exit(int(ExitStatus.BAD_INPUT))
    except KeyboardInterrupt:
        click.echo("pa-intake: interrupted", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else 0)
