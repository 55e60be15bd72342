"""An authenticated SFTP session whose server proved who it is.

The server's host key must match the known_hosts file (Host.home/.ssh/known_hosts
unless another is given) or a pinned SHA256 fingerprint; an unknown or changed
key is refused with its fingerprint in the message, never accepted. We drive
paramiko's Transport ourselves so that no auto-add policy exists at all.
Authentication is by key only: the given key file, else the ssh-agent at
$SSH_AUTH_SOCK (from the Host) and the usual ~/.ssh/id_* keys without passphrase.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko

from collector.errors import UploadFailed
from collector.host import Host
from collector.upload.retry import Transient
from collector.upload.session import Timeouts
from collector.upload.target import SftpTarget

DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")
RSA_SIGNATURES = ("rsa-sha2-512", "rsa-sha2-256")


@contextlib.contextmanager
def sftp_session(target: SftpTarget, host: Host, timeouts: Timeouts) -> Iterator[Any]:
    """A paramiko SFTPClient; network failures raise Transient."""
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeouts.connect)
    except OSError as error:
        raise Transient(f"cannot connect to {target.host}:{target.port}: {_why(error)}") from None
    transport = paramiko.Transport(sock)
    cleanup = contextlib.ExitStack()
    try:
        known = _known_keys(target, host)
        if known is not None:
            _prefer_key_types(transport, known)
        transport.start_client(timeout=timeouts.connect)
        check_host_key(transport.get_remote_server_key(), target, host, known)
        _authenticate(transport, target, _keys(target, host, cleanup))
        sftp = paramiko.SFTPClient.from_transport(transport)
        sftp.get_channel().settimeout(timeouts.read)
        yield sftp
    except paramiko.AuthenticationException as error:
        raise UploadFailed(f"SFTP login to {target} failed: {error}") from None
    except (paramiko.SSHException, EOFError) as error:
        raise Transient(f"SSH connection to {target.host}:{target.port}: {error}") from None
    except OSError as error:
        if transport.is_active():
            raise  # the server's answer (permission denied...), or a timeout
        # paramiko reports a dropped link from inside SFTP as a bare OSError.
        raise Transient(f"SSH connection to {target.host}:{target.port} lost: {error}") from None
    finally:
        cleanup.close()
        transport.close()


def fingerprint(key: Any) -> str:
    """SHA256:<base64 without padding>, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def check_host_key(key: Any, target: SftpTarget, host: Host, known: dict[str, Any] | None) -> None:
    presented = f"{key.get_name()} {fingerprint(key)}"
    where = known_hosts_name(target)
    if target.fingerprint is not None:
        if hmac.compare_digest(fingerprint(key), target.fingerprint):
            return
        raise UploadFailed(
            f"the SFTP server {where} presented host key {presented}, not the pinned "
            f"{target.fingerprint}: refusing to connect (possible man-in-the-middle)"
        )
    path = known_hosts_path(target, host)
    if known is None:
        raise UploadFailed(
            f"the host key of {where} ({presented}) is not in {path}; keys are never "
            "accepted automatically: confirm the fingerprint with IBM support, then add "
            f"it (ssh-keyscan -p {target.port} {target.host} >> {path}) or pin it as "
            "sftp_fingerprint"
        )
    expected = known.get(key.get_name())
    if expected is None or expected.asbytes() != key.asbytes():
        raise UploadFailed(
            f"HOST KEY MISMATCH for {where}: the server presented {presented}, which "
            f"does not match {path}: refusing to connect (possible man-in-the-middle)"
        )


def known_hosts_name(target: SftpTarget) -> str:
    return target.host if target.port == 22 else f"[{target.host}]:{target.port}"


def known_hosts_path(target: SftpTarget, host: Host) -> Path:
    return target.known_hosts or host.home / ".ssh" / "known_hosts"


def _known_keys(target: SftpTarget, host: Host) -> dict[str, Any] | None:
    """The known_hosts keys of the target by type; None when it has none (or is pinned)."""
    if target.fingerprint is not None:
        return None
    path = known_hosts_path(target, host)
    keys = paramiko.HostKeys()
    try:
        keys.load(str(path))
    except FileNotFoundError:
        return None
    except (OSError, paramiko.SSHException) as error:
        raise UploadFailed(f"cannot read known_hosts file {path}: {error}") from None
    entry = keys.lookup(known_hosts_name(target))
    return dict(entry) if entry else None


def _prefer_key_types(transport: Any, known: dict[str, Any]) -> None:
    """Ask for a host key type we know, as OpenSSH does, so a server with several
    keys shows the one in known_hosts rather than fail the comparison."""
    options = transport.get_security_options()
    wanted = set(known)
    if "ssh-rsa" in wanted:
        wanted.update(RSA_SIGNATURES)
    preferred = [t for t in options.key_types if t in wanted]
    if preferred:
        options.key_types = preferred


def _authenticate(transport: Any, target: SftpTarget, keys: list[Any]) -> None:
    if not keys:
        raise UploadFailed(
            "no SSH key for the SFTP upload: set sftp_key_file or load a key into ssh-agent"
        )
    for key in keys:
        with contextlib.suppress(paramiko.AuthenticationException):
            transport.auth_publickey(target.user, key)
            return
    raise UploadFailed(
        f"the SFTP server {target.host} refused the SSH key(s) for user {target.user}: "
        "check sftp_user and sftp_key_file, and that the public key is registered"
    )


def _keys(target: SftpTarget, host: Host, cleanup: contextlib.ExitStack) -> list[Any]:
    if target.key_file is not None:
        return [_load_key(target.key_file, required=True)]
    keys: list[Any] = list(_agent_keys(host, cleanup))
    for name in DEFAULT_KEYS:
        path = host.home / ".ssh" / name
        if path.is_file():
            key = _load_key(path, required=False)
            if key is not None:
                keys.append(key)
    return keys


def _load_key(path: Path, *, required: bool) -> Any:
    try:
        return paramiko.PKey.from_path(str(path))
    except paramiko.PasswordRequiredException:
        if not required:
            return None
        raise UploadFailed(
            f"SSH key {path} has a passphrase: load it into ssh-agent and leave sftp_key_file unset"
        ) from None
    except (OSError, ValueError, paramiko.SSHException) as error:
        if not required:
            return None
        raise UploadFailed(f"cannot read SSH key {path}: {error}") from None


def _agent_keys(host: Host, cleanup: contextlib.ExitStack) -> tuple[Any, ...]:
    path = host.env.get("SSH_AUTH_SOCK")
    if not path:
        return ()
    # paramiko.Agent() would read os.environ; connect to the Host's agent instead.
    agent = paramiko.agent.AgentSSH()
    conn = cleanup.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    try:
        conn.connect(path)
        agent._connect(conn)
    except (OSError, paramiko.SSHException):
        return ()
    return tuple(agent.get_keys())


def _why(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__
