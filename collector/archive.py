"""Write the bundle: a 7z archive that stock 7-Zip opens, manifest.json at its root.

The archive is written to a hidden partial file (mode 0600) next to its final
name and renamed into place only when complete, so a crash, a full disk or a
Ctrl-C never leaves something that looks like a bundle.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import py7zr

from collector.errors import NoBundle

DEFAULT_LEVEL = 1
SUFFIX = ".7z"


def bundle_name(case_prefix: str, products: Iterable[str], hostname: str, created: datetime) -> str:
    """<case>.pa-collect.<product>.<host>.<YYYYmmddTHHMMSSZ>.7z (the case part only
    when there is one), following the support repository's convention."""
    host = re.sub(r"[^A-Za-z0-9-]+", "-", hostname.split(".")[0]).strip("-") or "host"
    product = "+".join(products) or "os"
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    parts = [case_prefix] if case_prefix else []
    parts += ["pa-collect", product, host, stamp]
    return ".".join(parts) + SUFFIX


def compression_filters(level: int, encrypted: bool) -> list[dict[str, int]]:
    """Levels as `7z -mxN`: 0 stores; N >= 1 is LZMA2 at preset N-1, so level 1
    matches 7-Zip's -mx1 (256 KiB dictionary, fast match finder). LZMA2 because
    every 7-Zip reads it; measured trade-offs are in bench/README.md."""
    if level == 0:
        filters = [{"id": py7zr.FILTER_COPY}]
    else:
        filters = [{"id": py7zr.FILTER_LZMA2, "preset": level - 1}]
    if encrypted:
        filters.append({"id": py7zr.FILTER_CRYPTO_AES256_SHA256})
    return filters


def write_bundle(
    destination: Path,
    members: Iterable[tuple[Path, str]],
    manifest: bytes,
    *,
    password: str | None = None,
    level: int = DEFAULT_LEVEL,
) -> Path:
    """Pack (staged file, name in bundle) pairs plus the manifest; return the path."""
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w+b") as stream:
            with py7zr.SevenZipFile(
                stream,
                "w",
                filters=compression_filters(level, password is not None),
                password=password,
                header_encryption=password is not None,
            ) as archive:
                for staged, name in members:
                    archive.write(staged, name)
                archive.writestr(manifest, "manifest.json")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, destination)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise NoBundle(f"cannot write bundle {destination}: {_describe(error)}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return destination


def check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise NoBundle(
            f"not enough free space in {folder}: about {_mib(needed)} MiB needed, "
            f"{_mib(free)} MiB free (use --output, or lower --max-total-size)"
        )


def _mib(size: int) -> int:
    return (size + 1024 * 1024 - 1) // (1024 * 1024)


def _describe(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "no space left on device"
    return error.strerror or str(error)
