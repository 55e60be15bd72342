"""The engineer's commands: `inspect`, `verify` and `extract` a bundle.

Every command opens the bundle with the safe reader (collector.bundle), which
refuses unsafe member names, links and bombs before anything is read. A
password is asked for only when the bundle turns out to be encrypted. Errors
become exit codes in collector.cli.main, as everywhere else.

`inspect` builds one document (collector.report) and shows it as a screen of
text, as JSON, or as one self-contained HTML file (collector.render).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import click

from collector.bundle import Bundle, BundleError, PasswordNeeded, open_bundle
from collector.errors import BadInput, ExitStatus
from collector.host import Host
from collector.password import PASSWORD_ENV, bundle_password
from collector.render import CONTROL, render_html, render_text
from collector.report import report

VERIFY_EXIT_HELP = """\b
Exit codes:
  0  the bundle is intact
  1  problems found (each one is listed)
  2  unreadable or unsafe bundle, wrong or missing password, bad usage"""

EXIT_HELP = """\b
Exit codes:
  0  done
  2  unreadable or unsafe bundle, wrong or missing password, bad usage"""

password_option = click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"File whose first line is the bundle password (else ${PASSWORD_ENV}, else a "
    "prompt on a terminal); only read when the bundle is encrypted.",
)
bundle_argument = click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))


def register(cli: click.Group) -> None:
    """Add inspect, verify and extract to the pa-collect command group."""
    cli.add_command(inspect_command, "inspect")
    cli.add_command(verify_command, "verify")
    cli.add_command(extract_command, "extract")


def open_with_password(path: Path, password_file: Path | None) -> Bundle:
    """Open without a password; if the bundle says it is encrypted, get one
    (file, environment or prompt) and open again."""
    try:
        return open_bundle(path)
    except PasswordNeeded:
        pass
    host = Host.from_process()
    password = bundle_password(
        host,
        password_file,
        interactive=host.interactive,
        confirm=False,
        why=f"{path} is encrypted and needs its password",
    )
    try:
        return open_bundle(path, password)
    except BundleError as error:
        if "wrong password" in str(error):
            raise
        # With file names left unencrypted, a wrong password shows as damaged data.
        raise BundleError(f"{error} (wrong password?)") from None


# --- verify ------------------------------------------------------------------------


@click.command(epilog=VERIFY_EXIT_HELP)
@bundle_argument
@password_option
@click.pass_context
def verify_command(ctx: click.Context, bundle: Path, password_file: Path | None) -> None:
    """Check a bundle: manifest schema, every listed file present with its sha256,
    and no file the manifest does not list. Lists each problem found."""
    with open_with_password(bundle, password_file) as opened:
        problems = opened.verify()
        count = len(opened.files())
    for problem in problems:
        click.echo(CONTROL.sub("?", str(problem)))  # member names come from a stranger
    if problems:
        click.echo(f"{bundle}: {len(problems)} problem(s) found", err=True)
        ctx.exit(int(ExitStatus.PROBLEMS))
    click.echo(f"{bundle}: intact ({count} files; every sha256 matches the manifest)")


# --- extract -----------------------------------------------------------------------


@click.command(epilog=EXIT_HELP)
@bundle_argument
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Extract into a folder that is not empty.")
@password_option
def extract_command(bundle: Path, directory: Path, force: bool, password_file: Path | None) -> None:
    """Extract every file of a bundle under DIRECTORY (a new or empty folder).
    Unsafe names, links, special files and bombs are refused before writing."""
    if directory.exists() and any(directory.iterdir()) and not force:
        raise BadInput(f"{directory} is not empty (use --force to extract into it)")
    with open_with_password(bundle, password_file) as opened:
        refuse_links(directory, opened.files())
        written = opened.extract(directory)
    click.echo(f"Extracted {len(written)} files to {directory}")


def refuse_links(directory: Path, names: Iterable[str]) -> None:
    """A link already inside the target folder would send a file elsewhere."""
    for name in names:
        path = directory
        for part in name.split("/"):
            path = path / part
            if path.is_symlink():
                raise BundleError(f"refused: {path} is a link; extract into an empty folder")


# --- inspect -----------------------------------------------------------------------


@click.command(epilog=EXIT_HELP)
@bundle_argument
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON document.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report as one self-contained HTML file to attach to the case.",
)
@password_option
def inspect_command(
    bundle: Path, as_json: bool, html_file: Path | None, password_file: Path | None
) -> None:
    """One screen on a bundle: customer, case, host, product versions and
    configuration, support status, plugin outcomes, top errors and findings."""
    if as_json and html_file:
        raise click.UsageError("--json and --html exclude each other")
    with open_with_password(bundle, password_file) as opened:
        document = report(opened)
    if as_json:
        click.echo(json.dumps(document, indent=2))  # ASCII: no raw control bytes
    elif html_file:
        html_file.write_text(render_html(document), encoding="utf-8")
        click.echo(f"Wrote {html_file}")
    else:
        click.echo(render_text(document))
