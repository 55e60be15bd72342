"""One upload's facts, gathered once: the bundle, its digest, who it is for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from collector.capture import file_sha256
from collector.errors import BadInput
from collector.host import Host

Progress = Callable[[int, int], None]  # (bytes done, total)
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Job:
    bundle: Path
    size: int
    sha256: str
    case: str
    customer: str
    contract: str
    product: str
    host: Host
    chunk_size: int = DEFAULT_CHUNK_SIZE
    progress: Progress | None = None

    @property
    def name(self) -> str:
        return self.bundle.name

    def report(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done, self.size)

    def now(self) -> str:
        return iso_utc(self.host.now())


def prepare(
    bundle: Path,
    *,
    case: str,
    customer: str,
    contract: str,
    host: Host,
    product: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> Job:
    if not bundle.is_file():
        raise BadInput(f"bundle {bundle} does not exist or is not a file")
    if chunk_size < 1:
        raise BadInput(f"chunk size {chunk_size} must be positive")
    return Job(
        bundle=bundle,
        size=bundle.stat().st_size,
        sha256=sha256_file(bundle),
        case=case,
        customer=customer,
        contract=contract,
        product=product or product_from_name(bundle.name),
        host=host,
        chunk_size=chunk_size,
        progress=progress,
    )


def product_from_name(name: str) -> str:
    """The first product in <case>.pa-collect.<product>.<host>.<stamp>.7z; "other"
    for a file that does not follow the convention."""
    parts = name.split(".")
    if "pa-collect" in parts[:-1]:
        product = parts[parts.index("pa-collect") + 1]
        return product.split("+")[0] or "other"
    return "other"


def sha256_file(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError as error:
        raise BadInput(f"cannot read bundle {path}: {error.strerror}") from None


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
