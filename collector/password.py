"""Where a bundle password comes from: a file, $PA_COLLECT_PASSWORD or a prompt,
never the command line (argv is visible to every user of the host)."""

from __future__ import annotations

from pathlib import Path

import click

from collector.errors import BadInput
from collector.host import Host

PASSWORD_ENV = "PA_COLLECT_PASSWORD"


def read_password_file(path: Path) -> str:
    """The first line of `path`; an empty or unreadable file is bad input."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BadInput(f"cannot read password file {path}: {error.strerror}") from None
    if not lines or not lines[0]:
        raise BadInput(f"password file {path} is empty")
    return lines[0]


def bundle_password(
    host: Host, password_file: Path | None, *, interactive: bool, confirm: bool, why: str
) -> str:
    """A password from the file, else the environment, else a prompt on a terminal.

    `why` finishes the error raised when none can be had, e.g. "--encrypt needs
    a password"."""
    if password_file is not None:
        return read_password_file(password_file)
    if host.env.get(PASSWORD_ENV):
        return host.env[PASSWORD_ENV]
    if not interactive:
        raise BadInput(f"{why}: set ${PASSWORD_ENV} or use --password-file")
    answer = click.prompt("Bundle password", hide_input=True, confirmation_prompt=confirm, err=True)
    return str(answer)
