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
from collector.leaks import installed_rules, map_vocabulary, scan_bundle, scan_tree
from collector.obfuscation_map import load_map
from collector.password import PASSWORD_ENV, bundle_password
from collector.render import CONTROL, render_html, render_text
from collector.report import report

VERIFY_EXIT_HELP = """\b
Exit codes:
  0  the bundle is intact (--leaks: no leak found)
  1  problems found (--leaks: possible leaks found); each one is listed
  2  unreadable or unsafe bundle, wrong or missing password, bad map, bad usage"""

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
    return open_and_password(path, password_file)[0]


def open_and_password(path: Path, password_file: Path | None) -> tuple[Bundle, str | None]:
    """The opened bundle and the password it took (None when not encrypted)."""
    try:
        return open_bundle(path), None
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
        return open_bundle(path, password), password
    except BundleError as error:
        if "wrong password" in str(error):
            raise
        # With file names left unencrypted, a wrong password shows as damaged data.
        raise BundleError(f"{error} (wrong password?)") from None


# --- verify ------------------------------------------------------------------------


@click.command(epilog=VERIFY_EXIT_HELP)
@click.argument("path", type=click.Path(path_type=Path))
@password_option
@click.option(
    "--leaks",
    is_flag=True,
    help="Instead: scan every file of PATH (a bundle, or a folder such as an extracted "
    "bundle or a raw tree) for secrets the redaction rules would mask and private keys; "
    "lists file:line: rule, never the secret.",
)
@click.option(
    "--map",
    "map_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --leaks: also find every original value of this obfuscation map.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as a JSON document.")
@click.pass_context
def verify_command(
    ctx: click.Context,
    path: Path,
    password_file: Path | None,
    leaks: bool,
    map_path: Path | None,
    as_json: bool,
) -> None:
    """Check a bundle: manifest schema, every listed file present with its sha256,
    and no file the manifest does not list. Lists each problem found.

    With --leaks, prove instead that nothing secret is left in PATH."""
    if leaks:
        _verify_leaks(ctx, path, password_file, map_path, as_json)
        return
    if map_path is not None:
        raise click.UsageError("--map goes with --leaks")
    if path.is_dir():
        raise BadInput(f"{path} is a folder: verify checks a bundle (--leaks scans folders)")
    with open_with_password(path, password_file) as opened:
        problems = opened.verify()
        count = len(opened.files())
    if as_json:
        document = {"path": str(path), "files": count, "problems": [str(p) for p in problems]}
        click.echo(json.dumps(document, indent=2))
    for problem in problems if not as_json else []:
        click.echo(CONTROL.sub("?", str(problem)))  # member names come from a stranger
    if problems:
        click.echo(f"{path}: {len(problems)} problem(s) found", err=True)
        ctx.exit(int(ExitStatus.PROBLEMS))
    if not as_json:
        click.echo(f"{path}: intact ({count} files; every sha256 matches the manifest)")


def _verify_leaks(
    ctx: click.Context,
    path: Path,
    password_file: Path | None,
    map_path: Path | None,
    as_json: bool,
) -> None:
    vocabulary = map_vocabulary(load_map(map_path, private=False)) if map_path else None
    rules = installed_rules()
    if path.is_dir():
        count, found = scan_tree(path, rules, vocabulary)
    elif path.exists():
        opened, password = open_and_password(path, password_file)
        sizes = {m.name: m.size for m in opened.members() if not m.is_dir}
        count, found = len(sizes), scan_bundle(path, password, sizes, rules, vocabulary)
    else:
        raise BadInput(f"{path}: no such file or folder")
    if as_json:
        document = {
            "path": str(path),
            "files": count,
            "clean": not found,
            "leaks": [{"file": f.path, "line": f.line, "rule": f.rule} for f in found],
        }
        click.echo(json.dumps(document, indent=2))
    for leak in found if not as_json else []:
        click.echo(CONTROL.sub("?", str(leak)))
    if found:
        click.echo(f"{path}: {len(found)} possible leak(s) in {count} files", err=True)
        ctx.exit(int(ExitStatus.PROBLEMS))
    if not as_json:
        click.echo(f"{path}: no leaks found ({count} files scanned)")


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
