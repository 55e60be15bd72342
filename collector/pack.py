"""One finished item into the bundle: self-check, optional obfuscation, hand-off.

The runner calls `Packer.item` for every finished item and `Packer.stream` for a
large log it captures straight into the bundle. This is the one place where an
item's bytes and name go into the bundle, so two duties sit here:

- the self-check: what was written, the manifest included, is scanned again
  with the same redaction rules (collector.leaks); a finding is a redactor bug,
  reported in the manifest and the summary, never silently shipped. Staged
  items are scanned whole; a streamed log, which is never on disk, is scanned
  over its first SAMPLE bytes (a whole pass would double the redaction cost of
  the largest items);
- obfuscation (opt-in): staged items are obfuscated into a copy that is packed
  under the obfuscated name. Plugins parse the staged originals for follow-ups
  and facts (paths they must be able to open), so the originals stay as they
  are; streaming is off while obfuscating, as every byte must pass here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.archive import BundleWriter
from collector.capture import Sink
from collector.leaks import Leak, LeakScanner, manifest_exemptions, self_check
from collector.manifest import MANIFEST_NAME, serialised
from collector.obfuscate import Obfuscator, obfuscate_file
from collector.plan import Item
from collector.redact import Rule
from collector.runner import ItemResult

SAMPLE = 4 * 1024 * 1024


@dataclass(frozen=True)
class Packed:
    """An obfuscated item as it is in the bundle."""

    name: str
    size: int
    sha256: str


@dataclass
class SelfCheck:
    """What the self-check scanned and found (line and rule, never a value)."""

    items: int = 0
    sampled: int = 0
    leaks: list[dict[str, Any]] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {"items": self.items, "sampled_logs": self.sampled, "leaks": self.leaks}


class Packer:
    def __init__(
        self,
        writer: BundleWriter,
        staging: Path,
        rules: tuple[Rule, ...],
        obfuscator: Obfuscator | None = None,
    ) -> None:
        self.writer = writer
        self.staging = staging
        self.rules = rules
        self.obfuscator = obfuscator
        self.check = SelfCheck()
        self.packed: dict[str, Packed] = {}  # original bundle path -> obfuscated item
        self._lock = threading.Lock()

    @property
    def streams(self) -> bool:
        """Whether large logs may bypass staging (see the module docstring)."""
        return self.obfuscator is None

    def item(self, result: ItemResult) -> None:
        """A finished, staged item. A log's staged copy goes once packed (facts
        never parse logs); the others stay until facts are gathered."""
        if result.bundle_path is None or result.captured is None:
            return
        staged = self.staging / result.bundle_path
        if not staged.exists():
            return  # streamed: packed and checked while it was captured
        self._record(result.bundle_path, self_check(staged, self.rules), sampled=False)
        is_log = result.kind == "log"
        if self.obfuscator is None:
            self.writer.add(staged, result.bundle_path, delete=is_log)
            return
        copy = staged.with_name(staged.name + ".obfuscated")
        size, digest = obfuscate_file(staged, copy, self.obfuscator)
        name = self.obfuscator.path(result.bundle_path)
        with self._lock:
            self.packed[result.bundle_path] = Packed(name, size, digest)
        self.writer.add(copy, name, delete=True)
        if is_log:
            staged.unlink(missing_ok=True)

    def stream(self, item: Item) -> tuple[Sink, Callable[[str | None], None]]:
        """A large log captured straight into the bundle, its head self-checked."""
        sink, done = self.writer.stream(item.bundle_path)
        sampler = _SamplingSink(sink, LeakScanner(self.rules))

        def finished(error: str | None) -> None:
            done(error)
            self._record(item.bundle_path, sampler.close(), sampled=True)

        return sampler, finished

    def _record(self, name: str, leaks: list[Leak], sampled: bool) -> None:
        with self._lock:
            self.check.items += 1
            self.check.sampled += sampled
            self.check.leaks += [{"path": name, "line": x.line, "rule": x.rule} for x in leaks]

    def manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The manifest as it goes into the bundle: the self-check added and,
        when obfuscating, every value obfuscated and each item's path, size and
        sha256 those of its obfuscated copy. Item paths are set, not passed
        through the transform again: an obfuscated address would change twice."""
        self._record(MANIFEST_NAME, self._manifest_leaks(manifest), sampled=False)
        manifest["redaction"]["self_check"] = self.check.document()
        if self.check.leaks:
            manifest["warnings"].append(
                f"self-check: {len(self.check.leaks)} value(s) a redaction rule would still "
                "mask (listed by path, line and rule in redaction.self_check); "
                "please report this as a pa-collect bug before sending the bundle"
            )
        if self.obfuscator is None:
            return manifest
        paths = [item.pop("path") for item in manifest["items"]]
        manifest = self.obfuscator.document(manifest)
        for entry, path in zip(manifest["items"], paths, strict=True):
            packed = self.packed.get(path) if path else None
            entry["path"] = packed.name if packed else None
            if packed:
                entry.update(size=packed.size, sha256=packed.sha256)
        manifest["obfuscation"] = self.obfuscator.summary()
        return manifest

    def _manifest_leaks(self, manifest: dict[str, Any]) -> list[Leak]:
        """The manifest holds what the user typed (the description, argv): it is
        checked like any item, its own per-rule counts exempted."""
        scanner = LeakScanner(self.rules, exempt_keys=manifest_exemptions(self.rules))
        return scanner.feed(serialised(manifest)) + scanner.close()


class _SamplingSink:
    """Passes every byte on, and the first SAMPLE bytes through a leak scanner."""

    def __init__(self, sink: Sink, scanner: LeakScanner) -> None:
        self.sink = sink
        self.scanner = scanner
        self.seen = 0
        self.leaks: list[Leak] = []

    def write(self, data: bytes, /) -> int:
        if self.seen < SAMPLE:
            self.leaks += self.scanner.feed(data[: SAMPLE - self.seen])
            self.seen += len(data)
        return self.sink.write(data)

    def close(self) -> list[Leak]:
        return self.leaks + self.scanner.close()
