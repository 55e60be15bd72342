"""The private obfuscation map: the key, and what each original became.

A JSON file that stays with the customer, never in a bundle:

    {"format": 1, "key": "<64 hex digits>",
     "entries": {"hostname": {original: replacement}, "ip": {...}, "mac": {...},
                 "user": {...}, "keyword": {...}}}

Replacements are derived from the key (collector.pseudonyms), so the entries
are not needed to obfuscate consistently: they are the customer's reverse
lookup, and a vocabulary (a host name learned on one host is obfuscated in
every later run with the map). Maps with the same key merge by union.

The file holds the key that undoes IP pseudonyms, so it is written 0600,
atomically, and a map that other users can read is refused for writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.errors import BadInput

FORMAT = 1
ENTRY_KINDS = ("hostname", "ip", "mac", "user", "keyword")
KEY_BYTES = 32
MAX_MAP_SIZE = 256 * 1024 * 1024  # a map larger than this is not one of ours
MAP_FILE_NAME = "obfuscation-map.json"

log = logging.getLogger(__name__)


@dataclass
class ObfuscationMap:
    """A loaded map. `path` is where `save()` writes."""

    path: Path
    key: bytes
    entries: dict[str, dict[str, str]] = field(
        default_factory=lambda: {kind: {} for kind in ENTRY_KINDS}
    )

    @property
    def map_id(self) -> str:
        """Names the key without revealing it (for the manifest and messages)."""
        return hashlib.sha256(self.key).hexdigest()[:12]

    def learn(self, kind: str, original: str, replacement: str) -> None:
        self.entries[kind].setdefault(original, replacement)

    def merge(self, other: ObfuscationMap) -> int:
        """Union with a map of the same key; returns how many entries were new."""
        if other.key != self.key:
            raise BadInput(
                f"{other.path} has a different key than {self.path} "
                f"(map {other.map_id}, not {self.map_id}): only maps of one case merge"
            )
        added = 0
        for kind, table in other.entries.items():
            for original, replacement in table.items():
                if original not in self.entries[kind]:
                    self.entries[kind][original] = replacement
                    added += 1
        return added

    def lookup(self, value: str) -> list[tuple[str, str, str]]:
        """(kind, original, replacement) for every entry whose original or
        replacement is `value` (originals compare case-insensitively)."""
        folded = value.lower()
        return [
            (kind, original, replacement)
            for kind, table in self.entries.items()
            for original, replacement in table.items()
            if original.lower() == folded or replacement.lower() == folded
        ]

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "key": self.key.hex(),
            "entries": {kind: dict(sorted(self.entries[kind].items())) for kind in ENTRY_KINDS},
        }

    def save(self) -> None:
        """Write atomically (0600), merged with what is on disk now, so two runs
        that share the map lose none of each other's entries."""
        if self.path.exists():
            self.merge(load_map(self.path))
        _write_private(self.path, self.document(), replace=True)


def new_map(path: Path) -> ObfuscationMap:
    """A map with a fresh random key, written at once; refuses an existing file."""
    created = ObfuscationMap(path, secrets.token_bytes(KEY_BYTES))
    _write_private(path, created.document(), replace=False)
    return created


def load_map(path: Path, private: bool = True) -> ObfuscationMap:
    """Read and check a map. `private`: refuse one that other users can read
    (a map we will write to or obfuscate with); otherwise only warn."""
    try:
        info = path.stat()
        if info.st_size > MAX_MAP_SIZE:
            raise BadInput(f"{path} is too large to be an obfuscation map")
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"obfuscation map {path} does not exist") from None
    except OSError as error:
        raise BadInput(f"cannot read obfuscation map {path}: {error.strerror}") from None
    _check_private(path, info.st_mode, private)
    return parse_map(data, path)


def load_or_create(path: Path) -> ObfuscationMap:
    """The map at `path`, created (with its folder, 0700) on first use."""
    if path.exists():
        return load_map(path)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput(f"cannot create {path.parent}: {error.strerror}") from None
    try:
        return new_map(path)
    except BadInput:
        if path.exists():  # another run created it a moment ago: use theirs
            return load_map(path)
        raise


def parse_map(data: bytes, path: Path) -> ObfuscationMap:
    """Check the document's shape; every problem is a one-line BadInput."""
    try:
        document = json.loads(data)
    except ValueError as error:
        raise BadInput(f"{path} is not an obfuscation map (not JSON: {error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadInput(f"{path} is not an obfuscation map (format {FORMAT} expected)")
    key = document.get("key")
    try:
        raw_key = bytes.fromhex(key) if isinstance(key, str) else b""
    except ValueError:
        raw_key = b""
    if len(raw_key) != KEY_BYTES:
        raise BadInput(f"{path}: the map's key is not {KEY_BYTES * 2} hex digits")
    return ObfuscationMap(path, raw_key, _parse_entries(document.get("entries", {}), path))


def _parse_entries(entries: object, path: Path) -> dict[str, dict[str, str]]:
    if not isinstance(entries, dict):
        raise BadInput(f"{path}: the map's entries are not an object")
    unknown = sorted(set(entries) - set(ENTRY_KINDS))
    if unknown:
        raise BadInput(f"{path}: unknown kind of map entry {unknown[0]!r}")
    parsed: dict[str, dict[str, str]] = {}
    for kind in ENTRY_KINDS:
        table = entries.get(kind, {})
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in table.items()
        ):
            raise BadInput(f"{path}: the map's {kind} entries are not text to text")
        parsed[kind] = dict(table)
    return parsed


def _check_private(path: Path, mode: int, private: bool) -> None:
    if not stat.S_IMODE(mode) & 0o077:
        return
    message = (
        f"obfuscation map {path} can be read by other users (mode "
        f"{stat.S_IMODE(mode):04o}); it holds the key: chmod 600 {path}"
    )
    if private:
        raise BadInput(message)
    log.warning(message)


def _write_private(path: Path, document: dict[str, Any], replace: bool) -> None:
    """Write to a 0600 temporary file beside `path`, then move it in place
    (`replace`) or link it there only if nothing exists yet (no overwrite race)."""
    data = json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise BadInput(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp creates it 0600
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    except FileExistsError:
        raise BadInput(f"{path} already exists (a map is never overwritten)") from None
    except OSError as error:
        raise BadInput(f"cannot write {path}: {error.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
