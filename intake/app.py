"""The HTTP face of the intake: tus routes, receipts, engineers' downloads.

Handlers parse headers, call pa_intake.service, and shape responses. Refusals
are ProtocolErrors, turned into responses in one place (`_refused`). The API is
described in schemas/intake.openapi.yaml.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .auth import ENGINEER, Principal
from .errors import IntakeError, ProtocolError
from .service import Intake
from .settings import Settings
from .state import INCOMPLETE, QUARANTINED, STORED, Upload
from .tus import (
    check_content_type,
    check_resumable,
    http_date,
    options_headers,
    parse_checksum,
    parse_count,
    parse_metadata,
    protocol_headers,
)

BUNDLE_MEDIA_TYPE = "application/x-7z-compressed"


def create_app(settings: Settings) -> Starlette:
    intake = Intake(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        recovery = asyncio.create_task(intake.recover())
        sweeper = asyncio.create_task(intake.sweep_forever())
        try:
            yield
        finally:
            for task in (recovery, sweeper):
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={ProtocolError: _refused},
    )
    app.state.intake = intake
    return app


def routes() -> list[Route]:
    """Every HTTP endpoint; each one is described in schemas/intake.openapi.yaml."""
    return [
        Route("/files", _collection, methods=["OPTIONS", "POST"]),
        Route("/files/", _collection, methods=["OPTIONS", "POST"]),
        Route("/files/{upload_id}", _upload, methods=["OPTIONS", "HEAD", "PATCH", "DELETE"]),
        Route("/files/{upload_id}/receipt", _receipt, methods=["GET"]),
        Route("/cases/{case}/bundles", _bundle_list, methods=["GET"]),
        Route("/cases/{case}/bundles/{filename}", _bundle_file, methods=["GET"]),
    ]


# -- tus


async def _collection(request: Request) -> Response:
    intake = _intake(request)
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=options_headers(intake.settings.max_size))
    check_resumable(request.headers.get("Tus-Resumable"))
    principal = _principal(request)
    if "Upload-Defer-Length" in request.headers:
        raise ProtocolError(400, "Upload-Defer-Length is not supported; send Upload-Length")
    length = parse_count("Upload-Length", request.headers.get("Upload-Length"))
    metadata = parse_metadata(request.headers.get("Upload-Metadata"))
    upload = await intake.create(principal, metadata, length)
    location = f"{request.scope.get('root_path', '')}/files/{upload.id}"
    headers = {"Location": location, "Upload-Offset": str(upload.offset)}
    return Response(status_code=201, headers=protocol_headers() | headers | _state_headers(upload))


async def _upload(request: Request) -> Response:
    intake = _intake(request)
    upload_id = request.path_params["upload_id"]
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=options_headers(intake.settings.max_size))
    check_resumable(request.headers.get("Tus-Resumable"))
    principal = _principal(request)
    if request.method == "HEAD":
        upload = intake.find(upload_id, principal)
        headers = {
            "Upload-Offset": str(upload.offset),
            "Upload-Length": str(upload.length),
            "Upload-Metadata": upload.metadata.encode(),
            "Cache-Control": "no-store",
        }
        return Response(
            status_code=200, headers=protocol_headers() | headers | _state_headers(upload)
        )
    if request.method == "DELETE":
        await intake.terminate(upload_id, principal)
        return Response(status_code=204, headers=protocol_headers())
    check_content_type(request.headers.get("Content-Type"))
    checksum = parse_checksum(request.headers.get("Upload-Checksum"))
    offset = parse_count("Upload-Offset", request.headers.get("Upload-Offset"))
    length_header = request.headers.get("Content-Length")
    content_length = parse_count("Content-Length", length_header) if length_header else None
    upload = await intake.write(
        upload_id,
        principal,
        offset=offset,
        checksum=checksum,
        content_length=content_length,
        body=request.stream(),
    )
    headers = {"Upload-Offset": str(upload.offset)}
    return Response(status_code=204, headers=protocol_headers() | headers | _state_headers(upload))


async def _receipt(request: Request) -> Response:
    principal = _principal(request)
    upload = _intake(request).find(request.path_params["upload_id"], principal, readers=True)
    return JSONResponse(upload.receipt(), headers={"Cache-Control": "no-store"})


# -- engineers


async def _bundle_list(request: Request) -> Response:
    _engineer(request)
    try:
        bundles = _intake(request).store.bundles(request.path_params["case"])
    except IntakeError as error:
        raise ProtocolError(404, str(error)) from None
    return JSONResponse([b.as_dict() for b in bundles], headers={"Cache-Control": "no-store"})


async def _bundle_file(request: Request) -> Response:
    _engineer(request)
    filename = request.path_params["filename"]
    try:
        path = _intake(request).store.bundle_path(request.path_params["case"], filename)
    except IntakeError as error:
        raise ProtocolError(404, str(error)) from None
    return FileResponse(path, media_type=BUNDLE_MEDIA_TYPE, filename=filename)


# -- helpers


def _intake(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


def _principal(request: Request) -> Principal:
    principal = _intake(request).registry.authenticate(request.headers.get("Authorization"))
    if principal is None:
        raise ProtocolError(
            401, "a valid API token is required", {"WWW-Authenticate": 'Bearer realm="pa-intake"'}
        )
    return principal


def _engineer(request: Request) -> Principal:
    principal = _principal(request)
    if principal.kind != ENGINEER:
        raise ProtocolError(403, "only an engineer token can read a case's bundles")
    return principal


def _state_headers(upload: Upload) -> dict[str, str]:
    """Upload-Expires while incomplete; the outcome once finished."""
    if upload.status == INCOMPLETE:
        return {"Upload-Expires": http_date(upload.expires)}
    headers = {"Pa-Intake-Status": upload.status}
    if upload.status == STORED and upload.attachment_id:
        headers["Pa-Intake-Attachment"] = upload.attachment_id
    if upload.status == QUARANTINED and upload.reason:
        headers["Pa-Intake-Reason"] = _header_text(upload.reason)
    return headers


def _header_text(text: str, limit: int = 500) -> str:
    """A header-safe single line: printable ASCII only, bounded."""
    return re.sub(r"[^\x20-\x7e]", "?", text)[:limit]


async def _refused(request: Request, error: Exception) -> Response:
    if not isinstance(error, ProtocolError):  # pragma: no cover - registered for it only
        raise error
    return PlainTextResponse(
        error.reason + "\n",
        status_code=error.status,
        headers=protocol_headers() | error.headers,
    )
