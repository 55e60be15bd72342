"""Run the app under uvicorn, with TLS and the server-level limits."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import uvicorn

from .app import create_app
from .errors import IntakeError
from .files import private_dir
from .settings import Settings

log = logging.getLogger("pa_intake")
# Idle keep-alive connections are closed after this many seconds.
KEEP_ALIVE_TIMEOUT = 5
# In-flight requests are given this long to finish on shutdown.
GRACEFUL_SHUTDOWN = 5
# Beyond this many open connections uvicorn answers 503 at once.
CONNECTIONS_PER_UPLOAD = 8


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> None:
    if (tls_cert is None) != (tls_key is None):
        raise IntakeError("give both --tls-cert and --tls-key, or neither")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise IntakeError(f"cannot read {path}: no such file")
    private_dir(settings.storage)
    _configure_logging()
    if tls_cert is None and not _loopback(host):
        log.warning("serving plain HTTP on %s: tokens and bundles travel unencrypted", host)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        limit_concurrency=max(32, settings.max_concurrent * CONNECTIONS_PER_UPLOAD),
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
    uvicorn.Server(config).run()


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logger = logging.getLogger("pa_intake")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
