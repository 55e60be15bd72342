"""Where a bundle goes: a tus endpoint over HTTPS, or a folder on an SFTP server.

A target comes from `--upload-url` or from the profile's upload keys:

    upload_url        https://intake.example.com/files/   or   sftp://user@host:port/folder
    sftp_host, sftp_port, sftp_user, sftp_path            the SFTP parts, when upload_url is unset
    sftp_known_hosts  known_hosts file (default ~/.ssh/known_hosts)
    sftp_fingerprint  pinned host key, SHA256:... as `ssh-keygen -lf` prints it
    sftp_key_file     private key (default: ssh-agent, then ~/.ssh/id_*)

Plain http is accepted only for this machine (tests, a local relay): the token
must never cross a network in clear.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import SplitResult, unquote, urlsplit

from collector.errors import BadInput
from collector.profile import UPLOAD_KEYS

FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
# The profile keys that name the target (see collector.profile).
SETTING_KEYS = UPLOAD_KEYS


@dataclass(frozen=True, kw_only=True)
class HttpsTarget:
    """A tus 1.0.0 endpoint, e.g. https://intake.example.com/files/."""

    url: str
    transport: ClassVar[str] = "tus"

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True, kw_only=True)
class SftpTarget:
    """A folder on an SFTP server; bundles go to <folder>/<product>/<bundle name>."""

    host: str
    user: str
    port: int = 22
    folder: str = "."
    known_hosts: Path | None = None  # None: <home>/.ssh/known_hosts
    fingerprint: str | None = None  # a pin replaces known_hosts
    key_file: Path | None = None  # None: ssh-agent, then <home>/.ssh/id_*
    transport: ClassVar[str] = "sftp"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        folder = self.folder if self.folder.startswith("/") else f"/{self.folder}"
        return f"sftp://{self.user}@{host}:{self.port}{folder}"


Target = HttpsTarget | SftpTarget


def parse_target(
    url: str,
    *,
    known_hosts: Path | None = None,
    fingerprint: str | None = None,
    key_file: Path | None = None,
) -> Target:
    """An https (or loopback http) tus endpoint, or sftp://user@host[:port]/folder."""
    parts = urlsplit(url.strip())
    if parts.scheme in ("https", "http"):
        return _https_target(url.strip())
    if parts.scheme == "sftp":
        if parts.password is not None:
            raise BadInput(f"{_safe(url)}: put no password in the SFTP URL; use an SSH key")
        if not parts.username:
            raise BadInput(f"{_safe(url)}: give the SFTP user, as sftp://user@host/folder")
        return sftp_target(
            host=parts.hostname or "",
            user=unquote(parts.username),
            port=_port(parts),
            folder=unquote(parts.path) or ".",
            known_hosts=known_hosts,
            fingerprint=fingerprint,
            key_file=key_file,
        )
    raise BadInput(f"upload URL {_safe(url)}: use https://.../files/ or sftp://user@host/folder")


def sftp_target(
    *,
    host: str,
    user: str,
    port: int = 22,
    folder: str = ".",
    known_hosts: Path | None = None,
    fingerprint: str | None = None,
    key_file: Path | None = None,
) -> SftpTarget:
    if not host:
        raise BadInput("the SFTP target has no host name")
    if not user:
        raise BadInput(f"the SFTP target {host} has no user (sftp_user)")
    if not 0 < port < 65536:
        raise BadInput(f"SFTP port {port} is out of range")
    if fingerprint is not None and not FINGERPRINT.match(fingerprint):
        raise BadInput(
            f"host key fingerprint {fingerprint!r}: give it as `ssh-keygen -lf` prints it, "
            "SHA256: followed by 43 base64 characters"
        )
    return SftpTarget(
        host=host,
        user=user,
        port=port,
        folder=folder,
        known_hosts=known_hosts,
        fingerprint=fingerprint,
        key_file=key_file,
    )


def target_from_settings(
    settings: Mapping[str, object], upload_url: str | None = None, *, home: Path
) -> Target:
    """The target from `--upload-url` (wins) or the profile's upload keys; `~/`
    in the file settings means `home` (Host.home)."""
    known_hosts = _path(settings.get("sftp_known_hosts"), home)
    fingerprint = _text(settings.get("sftp_fingerprint"))
    key_file = _path(settings.get("sftp_key_file"), home)
    url = upload_url or _text(settings.get("upload_url"))
    if url:
        return parse_target(
            url, known_hosts=known_hosts, fingerprint=fingerprint, key_file=key_file
        )
    host = _text(settings.get("sftp_host"))
    if host:
        port = settings.get("sftp_port") or 22
        if not isinstance(port, int | str) or not str(port).isdigit():
            raise BadInput(f"sftp_port {port!r} is not a port number")
        return sftp_target(
            host=host,
            user=_text(settings.get("sftp_user")) or "",
            port=int(port),
            folder=_text(settings.get("sftp_path")) or ".",
            known_hosts=known_hosts,
            fingerprint=fingerprint,
            key_file=key_file,
        )
    raise BadInput(
        "no upload target: set upload_url (or sftp_host) in the profile, or give --upload-url"
    )


def is_loopback(hostname: str) -> bool:
    if hostname.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _https_target(url: str) -> HttpsTarget:
    parts = urlsplit(url)
    if not parts.hostname:
        raise BadInput(f"upload URL {_safe(url)} has no host name")
    if parts.username is not None or parts.password is not None:
        raise BadInput(
            f"upload URL {_safe(url)}: put no credentials in the URL; the token comes "
            "from $PA_COLLECT_TOKEN or --token-file"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise BadInput(
            f"upload URL {_safe(url)}: use https; plain http is allowed only to this machine"
        )
    _port(parts)
    return HttpsTarget(url=url)


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise BadInput("the upload URL has an invalid port") from None
    return int(port) if port is not None else 22


def _safe(url: str) -> str:
    """The URL without any user:password part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _path(value: object, home: Path) -> Path | None:
    text = _text(value)
    if not text:
        return None
    return home / text[2:] if text.startswith("~/") else Path(text)
