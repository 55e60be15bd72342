"""The engineer's side: open a bundle from a stranger safely, prove its integrity,
and read it without extracting it to disk.

Safety comes before reading anything: member names that are absolute, climb out
with '..', or are links, devices or sockets refuse the whole bundle, and so does
a bundle that would expand past a size or compression-ratio limit (a bomb).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import queue
import stat
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any

import py7zr
from py7zr.io import Py7zIO, WriterFactory

from collector.boundary import guarded
from collector.discovery import discover_plugins
from collector.errors import BadInput
from collector.findings import Finding, by_severity, core_findings
from collector.logwindow import LogFormat, Record, iter_records
from collector.manifest import MANIFEST_NAME
from collector.schema import schema_errors

# Refuse a bundle that expands past either limit: no real bundle comes near them.
MAX_TOTAL_SIZE = 64 * 1024**3
MAX_RATIO = 1000
MAX_MANIFEST = 64 * 1024 * 1024
PIPE_CHUNKS = 8  # pieces in flight between the decompressor and a reader
PIECE = 1024 * 1024


# What py7zr and the codecs raise on a damaged, foreign or wrongly decrypted
# archive. Parsing a stranger's file can fail in all these ways; each becomes a
# BundleError with the cause, never a traceback.
DAMAGE: tuple[type[BaseException], ...] = (
    py7zr.Bad7zFile,
    py7zr.exceptions.CrcError,
    py7zr.exceptions.DecompressionError,
    py7zr.exceptions.UnsupportedCompressionMethodError,
    py7zr.exceptions.InternalError,
    lzma.LZMAError,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
)


class BundleError(BadInput):
    """The bundle cannot be opened or is unsafe; the message says why."""


class PasswordNeeded(BundleError):
    """The bundle is encrypted and no password was given."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    is_dir: bool


@dataclass(frozen=True)
class Problem:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def open_bundle(path: str | Path, password: str | None = None) -> Bundle:
    """Open a bundle for reading; raises BundleError with a specific reason."""
    return Bundle(Path(path), password)


class Bundle:
    """A read-only view of one bundle. Use as a context manager or call close()."""

    def __init__(
        self,
        path: Path,
        password: str | None = None,
        max_total: int = MAX_TOTAL_SIZE,
        max_ratio: int = MAX_RATIO,
    ) -> None:
        self.path = path
        self._password = password
        self._members = _safe_members(self._open(), path, max_total, max_ratio)
        self.manifest = self._load_manifest()

    def _open(self) -> py7zr.SevenZipFile:
        try:
            return py7zr.SevenZipFile(self.path, "r", password=self._password)
        except FileNotFoundError:
            raise BundleError(f"{self.path}: no such file") from None
        except py7zr.PasswordRequired:
            raise PasswordNeeded(f"{self.path} is encrypted: give its password") from None
        except DAMAGE as error:
            if self._password is not None:
                # py7zr cannot tell a wrong password from a damaged header.
                raise BundleError(
                    f"{self.path}: wrong password, or the bundle is damaged"
                ) from None
            raise BundleError(f"{self.path} is not a readable 7z bundle: {error}") from None

    def _load_manifest(self) -> dict[str, Any]:
        member = self._members.get(MANIFEST_NAME)
        if member is None:
            raise BundleError(f"{self.path} has no {MANIFEST_NAME}: not a pa-collect bundle")
        if member.size > MAX_MANIFEST:
            raise BundleError(f"{self.path}: {MANIFEST_NAME} is implausibly large")
        with self.read(MANIFEST_NAME) as stream:
            data = stream.read()
        try:
            manifest: dict[str, Any] = json.loads(data)
        except ValueError as error:
            raise BundleError(f"{self.path}: {MANIFEST_NAME} is not JSON: {error}") from None
        if not isinstance(manifest, dict):
            raise BundleError(f"{self.path}: {MANIFEST_NAME} is not a JSON object")
        return manifest

    def __enter__(self) -> Bundle:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between calls; kept for the context-manager protocol."""

    def members(self) -> list[Member]:
        return sorted(self._members.values(), key=lambda m: m.name)

    def files(self) -> list[str]:
        """Names of the regular files in the bundle, manifest.json included."""
        return sorted(name for name, m in self._members.items() if not m.is_dir)

    def read(self, name: str) -> MemberStream:
        """Stream one member; memory stays bounded whatever its size."""
        member = self._members.get(name)
        if member is None or member.is_dir:
            raise BundleError(f"{self.path}: no file {name!r} in the bundle")
        return MemberStream(self._open, name, member.size)

    def hashes(self) -> dict[str, tuple[int, str]]:
        """(size, sha256) of every file, in one decompression pass."""
        factory = _HashFactory(self._members)
        archive = self._open()
        try:
            archive.extractall(factory=factory)
        except MemberTooBig as error:
            raise BundleError(f"{self.path}: {error}") from None
        except py7zr.PasswordRequired:
            raise PasswordNeeded(f"{self.path} is encrypted: give its password") from None
        except DAMAGE as error:
            raise BundleError(f"{self.path} is damaged: {error}") from None
        finally:
            archive.close()
        return {name: (s.size(), s.digest.hexdigest()) for name, s in factory.sinks.items()}

    def verify(self) -> list[Problem]:
        """Every integrity problem: schema, files missing, extra or altered."""
        problems = [Problem(MANIFEST_NAME, e) for e in schema_errors("manifest", self.manifest)]
        listed = {
            item["path"]: item
            for item in _items(self.manifest)
            if isinstance(item.get("path"), str)
        }
        actual = self.hashes()
        for name, item in sorted(listed.items()):
            if name not in actual:
                problems.append(Problem(name, "listed in the manifest but not in the bundle"))
            elif actual[name] != (item.get("size"), item.get("sha256")):
                problems.append(
                    Problem(
                        name, "sha256 or size differs from the manifest (altered after collection)"
                    )
                )
        for name in sorted(set(actual) - set(listed) - {MANIFEST_NAME}):
            problems.append(Problem(name, "in the bundle but not listed in the manifest"))
        return problems

    def facts(self, product: str) -> dict[str, Any]:
        """The structured facts a plugin recorded (empty when it did not run)."""
        facts = self.manifest.get("facts")
        value = facts.get(product) if isinstance(facts, dict) else None
        return value if isinstance(value, dict) else {}

    def logs(self, plugin: str | None = None) -> list[str]:
        """Bundle paths of the log items that have a parser (optionally one plugin's)."""
        return sorted(
            item["path"]
            for item in _items(self.manifest)
            if isinstance(item.get("format"), dict)
            and isinstance(item.get("path"), str)
            and (plugin is None or item.get("plugin") == plugin)
        )

    def records(
        self, log: str, since: datetime | None = None, level: str | None = None
    ) -> Iterator[Record]:
        """Parsed records of a collected log, by the owning plugin's parser,
        optionally only those at or after `since` and of one `level`
        (case-insensitive). Streams: the member is spooled to a temporary file,
        never held in memory."""
        fmt = self._log_format(log)
        with tempfile.TemporaryFile() as spool:
            with self.read(log) as stream:
                for chunk in stream:
                    spool.write(chunk)
            spool.seek(0)
            for record in iter_records(spool, fmt):
                if since is not None and (record.timestamp is None or record.timestamp < since):
                    continue
                if level is not None and (record.level or "").lower() != level.lower():
                    continue
                yield record

    def _log_format(self, log: str) -> LogFormat:
        item = next((i for i in _items(self.manifest) if i.get("path") == log), None)
        described = item.get("format") if item else None
        if not isinstance(described, dict) or item is None:
            raise BundleError(f"{log} is not a parsed log in this bundle")
        plugin = discover_plugins().plugins.get(str(item.get("plugin")))
        formats = plugin.log_formats if plugin else ()
        factory = next((f for f in formats if f.name == described.get("name")), None)
        if factory is None:
            raise BundleError(
                f"no installed plugin parses {log} (format {described.get('name')!r} of "
                f"plugin {item.get('plugin')!r})"
            )
        options = described.get("options")
        try:
            return factory(**(options if isinstance(options, dict) else {}))
        except (TypeError, ValueError, LookupError) as error:
            raise BundleError(
                f"{log}: the manifest's format options are unusable: {error}"
            ) from None

    def findings(self) -> list[Finding]:
        """Core findings plus every installed plugin's, most severe first."""
        found = core_findings(self.manifest)
        for name, plugin in discover_plugins().plugins.items():
            if name not in self.manifest.get("facts", {}) and not self.logs(name):
                continue
            value, error = guarded(lambda p=plugin: list(p.findings(self)))  # type: ignore[misc]
            if error is not None:
                found.append(
                    Finding(
                        f"{name}.rules_failed", "low", f"the {name} plugin's rules failed: {error}"
                    )
                )
            else:
                found.extend(value or [])
        return by_severity(found)

    def extract(self, destination: Path) -> list[Path]:
        """Write every file under `destination` (names were checked at open).

        Never writes through a link or over an existing file, and on failure
        removes what it wrote, so a half-extracted tree is never left behind."""
        written: list[Path] = []
        destination.mkdir(parents=True, exist_ok=True)
        try:
            for name in self.files():
                target = destination.joinpath(*PurePosixPath(name).parts)
                _make_parents(destination, target)
                self._extract_one(name, target)
                written.append(target)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return written

    def _extract_one(self, name: str, target: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(target, flags, 0o600)
        except OSError as error:
            raise BundleError(f"cannot extract {name} to {target}: {error.strerror}") from None
        with self.read(name) as stream, os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                out.write(chunk)


def _make_parents(root: Path, target: Path) -> None:
    """Create target's folders under root, refusing any that is a link."""
    current = root
    for part in target.relative_to(root).parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise BundleError(f"refused to extract through the link {current}")
        current.mkdir(exist_ok=True)


def _items(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's item entries that are objects (a damaged manifest may hold
    anything; verify() reports that, readers skip it)."""
    items = manifest.get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _safe_members(
    archive: py7zr.SevenZipFile, path: Path, max_total: int, max_ratio: int
) -> dict[str, Member]:
    try:
        members: dict[str, Member] = {}
        for entry in archive.files:
            name = entry.filename
            _check_name(path, name)
            kind = entry.st_fmt
            special = kind is not None and not (stat.S_ISREG(kind) or stat.S_ISDIR(kind))
            if entry.is_symlink or special:
                raise BundleError(f"{path}: refused: {name!r} is a link or special file")
            if name in members:
                raise BundleError(f"{path}: refused: {name!r} appears twice")
            members[name] = Member(name, entry.uncompressed or 0, entry.is_directory)
    finally:
        archive.close()
    files = {name for name, m in members.items() if not m.is_dir}
    for name in members:
        for parent in PurePosixPath(name).parents:
            if str(parent) in files:
                raise BundleError(f"{path}: refused: {str(parent)!r} is both a file and a folder")
    total = sum(m.size for m in members.values())
    if total > max_total:
        raise BundleError(f"{path}: refused: would expand to {total} bytes (limit {max_total})")
    packed = max(path.stat().st_size, 1)
    if total > 1024 * 1024 and total / packed > max_ratio:
        raise BundleError(
            f"{path}: refused: compression ratio {total // packed}:1 "
            f"exceeds {max_ratio}:1 (a compression bomb?)"
        )
    return members


def _check_name(path: Path, name: str) -> None:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise BundleError(f"{path}: refused: absolute path {name!r}")
    if ".." in pure.parts:
        raise BundleError(f"{path}: refused: path traversal in {name!r}")
    if any(part in ("", ".") for part in name.replace("\\", "/").split("/")):
        raise BundleError(f"{path}: refused: empty or '.' component in {name!r}")
    if "\x00" in name or not name.strip():
        raise BundleError(f"{path}: refused: invalid member name {name!r}")


class MemberTooBig(Exception):
    """A member decompressed past the size its header declared (a bomb)."""


READ_FAILURES: tuple[type[BaseException], ...] = (MemberTooBig, BadInput, *DAMAGE)


class MemberSink(Py7zIO):
    """A write-only target for py7zr that refuses more bytes than the member
    declared; subclasses say what to do with the bytes (`take`)."""

    def __init__(self, declared: int) -> None:
        self._size = 0
        self._declared = declared

    def write(self, s: bytes | bytearray) -> int:
        self._size += len(s)
        if self._size > self._declared:
            raise MemberTooBig("a member expands past its declared size")
        self.take(s)
        return len(s)

    def take(self, data: bytes | bytearray) -> None:
        raise NotImplementedError

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return offset

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self._size


class _HashSink(MemberSink):
    """Hashes a member as it is decompressed."""

    def __init__(self, declared: int) -> None:
        super().__init__(declared)
        self.digest = hashlib.sha256()

    def take(self, data: bytes | bytearray) -> None:
        self.digest.update(data)


class _HashFactory(WriterFactory):
    def __init__(self, members: dict[str, Member]) -> None:
        self._members = members
        self.sinks: dict[str, _HashSink] = {}

    def create(self, filename: str) -> Py7zIO:
        member = self._members.get(filename)
        sink = _HashSink(member.size if member else 0)
        self.sinks[filename] = sink
        return sink


class _QueueSink(MemberSink):
    """Feeds a bounded queue: the decompressor blocks while the reader is behind."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None], declared: int) -> None:
        super().__init__(declared)
        self._chunks = chunks

    def take(self, data: bytes | bytearray) -> None:
        # py7zr hands over tens of MiB at once; queue small pieces so that what
        # waits for the reader stays within PIPE_CHUNKS x PIECE bytes.
        view = memoryview(data)
        for start in range(0, len(view), PIECE):
            self._chunks.put(bytes(view[start : start + PIECE]))


class MemberStream:
    """A read-only binary stream over one member, decompressed in a thread."""

    def __init__(self, open_archive: Any, name: str, declared: int) -> None:
        self._chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(PIPE_CHUNKS)
        self._buffer = bytearray()
        self._done = False
        self._complete = False  # set by the producer only after a clean extraction
        self._name = name
        self._thread = threading.Thread(
            target=self._produce, args=(open_archive, name, declared), daemon=True
        )
        self._thread.start()

    def _produce(self, open_archive: Any, name: str, declared: int) -> None:
        sink = _QueueSink(self._chunks, declared)

        class Factory(WriterFactory):
            def create(self, filename: str) -> Py7zIO:
                return sink if filename == name else _HashSink(1 << 62)

        try:
            archive = open_archive()
            try:
                archive.extract(targets=[name], factory=Factory())
            finally:
                archive.close()
            self._complete = True
        except py7zr.PasswordRequired:
            self._chunks.put(PasswordNeeded("the bundle is encrypted: give its password"))
        except READ_FAILURES as error:
            self._chunks.put(error)  # raised in the reading thread
        finally:
            self._chunks.put(None)

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            chunk = self._chunks.get()
            if chunk is None:
                self._done = True
                if not self._complete:
                    raise BundleError(f"cannot read {self._name}: decompression failed")
            elif isinstance(chunk, BaseException):
                self._done = True
                if isinstance(chunk, PasswordNeeded):
                    raise chunk
                raise BundleError(f"cannot read {self._name}: {chunk}")
            else:
                self._buffer += chunk
        end = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1024 * 1024):
            yield chunk

    def close(self) -> None:
        # Drain so the producer thread can finish and release the archive.
        while not self._done:
            self._done = self._chunks.get() is None

    def __enter__(self) -> MemberStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
