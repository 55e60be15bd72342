"""HTTP for the tus transport: TLS, proxies, timeouts and the token, in one place.

requests would read proxies and CA settings from os.environ; the Host is our
only source of environment, so the session ignores the process environment
(trust_env off) and resolves HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY and
REQUESTS_CA_BUNDLE from host.env itself. TLS is always verified unless the
user explicitly asks for `insecure`, which is logged as a warning.

The token lives in a Secret whose str and repr are masked; every message built
from a requests error is scrubbed of it, so neither logs nor exceptions carry it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests
import urllib3

from collector.errors import BadInput, UploadFailed
from collector.host import Host
from collector.upload.retry import Transient

log = logging.getLogger(__name__)
TOKEN_CHARACTERS = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: safe in a header


class Readable(Protocol):
    """A request body requests streams with a Content-Length (see tus.ChunkBody)."""

    def __len__(self) -> int: ...

    def read(self, size: int = -1) -> bytes: ...


Body = bytes | Readable | None


class Secret:
    """A bearer token that never shows itself in str(), repr() or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not TOKEN_CHARACTERS.match(value):
            raise BadInput(
                "the upload token contains spaces or characters that cannot be sent "
                "in an HTTP header: check $PA_COLLECT_TOKEN or the token file"
            )
        self._value = value

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        return text.replace(self._value, "***")

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """Seconds. The final PATCH waits longer: the intake checks the whole bundle
    (digest, safe open, manifest) before it answers."""

    connect: float = 10.0
    read: float = 120.0
    final_read: float = 900.0


class Http:
    """A requests session bound to one host's environment, TLS choice and token."""

    def __init__(
        self,
        *,
        host: Host,
        token: Secret | None,
        ca_bundle: Path | None = None,
        insecure: bool = False,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.env = host.env
        self.token = token
        self.insecure = insecure
        self.timeouts = timeouts or Timeouts()
        self.verify = _verify(host.env, ca_bundle, insecure)
        self.session = requests.Session()
        self.session.trust_env = False
        if insecure:
            log.warning(
                "TLS certificate verification is OFF (insecure): anyone on the path "
                "can read the bundle and the token; use --ca-bundle instead"
            )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        read_timeout: float | None = None,
    ) -> requests.Response:
        """Send one request; network failures become Transient, TLS failures UploadFailed."""
        sent = dict(headers or {})
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token.reveal()}"
        timeout = (self.timeouts.connect, read_timeout or self.timeouts.read)
        try:
            with self._quiet():
                return self.session.request(
                    method,
                    url,
                    headers=sent,
                    data=body,
                    timeout=timeout,
                    verify=self.verify,
                    proxies=proxies_for(url, self.env),
                    allow_redirects=False,
                )
        except requests.exceptions.SSLError as error:
            raise self._tls_failure(url, error) from None
        except (requests.ConnectionError, requests.Timeout) as error:
            raise Transient(f"{method} {url}: {self._scrub(reason(error))}") from None
        except requests.RequestException as error:
            raise UploadFailed(f"{method} {url}: {self._scrub(str(error))}") from None

    def close(self) -> None:
        self.session.close()

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        # urllib3 warns on every unverified request; we warned once, on purpose.
        with warnings.catch_warnings():
            if self.insecure:
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            yield

    def _tls_failure(self, url: str, error: Exception) -> Exception:
        text = self._scrub(reason(error))
        where = urlsplit(url).netloc
        if "CERTIFICATE_VERIFY_FAILED" in str(error) or "certificate" in text.lower():
            return UploadFailed(
                f"cannot verify the TLS certificate of {where} ({text}); if the intake "
                "uses a private CA, give its certificate with --ca-bundle FILE"
            )
        return Transient(f"TLS handshake with {where} failed: {text}")

    def _scrub(self, text: str) -> str:
        return self.token.scrub(text) if self.token is not None else text


def _verify(env: Mapping[str, str], ca_bundle: Path | None, insecure: bool) -> bool | str:
    if insecure:
        return False
    if ca_bundle is not None:
        if not ca_bundle.is_file():
            raise BadInput(f"CA bundle {ca_bundle} does not exist")
        return str(ca_bundle)
    return env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True


def reason(error: BaseException) -> str:
    """The useful end of a requests/urllib3 error chain: "Connection refused"."""
    text = str(error)
    for pattern in (r"\[Errno -?\d+\] ([^'\")\]]+)", r"\[SSL: [A-Z_]+\] ([^'\")(]+)"):
        found = re.search(pattern, text)
        if found:
            return found.group(1).strip(" .")
    if isinstance(error, requests.ReadTimeout):
        return "read timed out"
    if isinstance(error, requests.ConnectTimeout):
        return "connect timed out"
    for marker in ("RemoteDisconnected", "Connection aborted", "Connection reset"):
        if marker in text:
            return "the server closed the connection"
    return text[:200]


def proxies_for(url: str, env: Mapping[str, str]) -> dict[str, str]:
    """The proxy for `url` from <scheme>_proxy / all_proxy and no_proxy, as curl reads them."""
    parts = urlsplit(url)

    def setting(name: str) -> str:
        return env.get(name) or env.get(name.upper()) or ""

    proxy = setting(f"{parts.scheme}_proxy") or setting("all_proxy")
    if not proxy:
        return {}
    default_port = 443 if parts.scheme == "https" else 80
    if bypasses_proxy(parts.hostname or "", parts.port or default_port, setting("no_proxy")):
        return {}
    return {parts.scheme: proxy}


def bypasses_proxy(hostname: str, port: int, no_proxy: str) -> bool:
    """no_proxy entries: "*", names (a leading "." or "*." optional; subdomains
    match), IP addresses and CIDR ranges, each optionally with ":port"."""
    hostname = hostname.lower().strip("[]")
    for entry in re.split(r"[,\s]+", no_proxy.lower()):
        if not entry:
            continue
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if _in_network(hostname, name):
            return True
        name = name.removeprefix("*").lstrip(".")
        if name and (hostname == name or hostname.endswith("." + name)):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [::1]:8443
        address, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
        return address, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, port = entry.split(":")
        return name, int(port) if port.isdigit() else None
    return entry, None


def _in_network(hostname: str, entry: str) -> bool:
    try:
        return ipaddress.ip_address(hostname) in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
