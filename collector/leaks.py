"""The leak scanner: proof that nothing secret is left in a bundle or a tree.

A leak is (1) a value that some redaction rule would still mask: the rule's
pattern, run on the lines that hold one of its triggers, matches and
`rule.replace(match)` differs from the match; (2) a PEM private key BEGIN line
followed by key material instead of the redactor's MASK; or (3) with an
obfuscation map, any original value of the map (or its key) still present.

Findings carry a line number and a rule name, never the value: the scanner's
output can be pasted into a case without becoming a leak itself.

Used by `pa-collect verify --leaks` (a bundle, streamed in one decompression
pass, or a directory tree) and by the collection's self-check on what it staged
(`self_check`).
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import py7zr
from py7zr.io import Py7zIO, WriterFactory

from collector.bundle import DAMAGE, BundleError, MemberSink, MemberTooBig, PasswordNeeded
from collector.discovery import discover_plugins
from collector.manifest import MANIFEST_NAME
from collector.obfuscate import LiteralMatcher, lines_holding
from collector.obfuscation_map import ObfuscationMap
from collector.redact import BASELINE_RULES, MASK, PEM_BEGIN, PEM_RULE, Rule, redact_bytes

MAX_LINE = 1024 * 1024  # a longer line is scanned in pieces (same line number)
CHUNK = 1024 * 1024
MAP_KEY_RULE = "obfuscation_map_key"


@dataclass(frozen=True)
class Leak:
    line: int  # 1-based
    rule: str


@dataclass(frozen=True)
class FileLeak:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


def installed_rules() -> tuple[Rule, ...]:
    """The baseline rules and every installed plugin's own: a bundle is checked
    against everything any collection could have applied."""
    extra = [
        rule for plugin in discover_plugins().plugins.values() for rule in plugin.redaction_rules
    ]
    return (*BASELINE_RULES, *extra)


def map_vocabulary(mapping: ObfuscationMap) -> LiteralMatcher:
    """Every original in the map (and the map's key) as one matcher; the kind
    of a match is the rule name reported (`original_hostname`, ...)."""
    literals: dict[str, str] = {}
    for kind, table in mapping.entries.items():
        for original in table:
            for form in _written_forms(kind, original):
                literals[form] = f"original_{kind}"
    literals[mapping.key.hex()] = MAP_KEY_RULE
    return LiteralMatcher(literals)


def _written_forms(kind: str, original: str) -> list[str]:
    """A MAC is written with colons or dashes; everything else as recorded."""
    if kind == "mac":
        return [original, original.replace(":", "-")]
    return [original]


class LeakScanner:
    """Scans a byte stream fed in pieces; `feed` and `close` return the leaks
    of the lines completed so far."""

    def __init__(
        self,
        rules: Iterable[Rule],
        vocabulary: LiteralMatcher | None = None,
        exempt_keys: frozenset[bytes] = frozenset(),
    ) -> None:
        self.rules = tuple(rules)
        self.vocabulary = vocabulary
        # Keys whose values are ours, not data: the manifest counts redactions
        # per rule ("url_credentials": 1), which looks like a credential setting.
        self.exempt_keys = exempt_keys
        self._pending = b""
        self._line = 1  # number of the first line of the next block
        self._after_begin = False  # the previous block ended right after a BEGIN line

    def feed(self, data: bytes) -> list[Leak]:
        data = self._pending + data
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) < MAX_LINE:
            self._pending = data
            return []
        if cut == 0:
            cut = len(data)
        self._pending = data[cut:]
        return self._scan(data[:cut])

    def close(self) -> list[Leak]:
        tail, self._pending = self._pending, b""
        return self._scan(tail) if tail else []

    def _scan(self, block: bytes) -> list[Leak]:
        lowered = block.lower()
        starts = _line_starts(block)
        found: set[tuple[int, str]] = set()

        def report(offset: int, rule: str) -> None:
            found.add((bisect.bisect_right(starts, offset) - 1, rule))

        # Fast path: a block the redactor leaves as it is holds no value a rule
        # would mask and no unmasked key (that is what a leak is), and the
        # redactor's trigger scan is the fastest there is. Only a changed block
        # is searched rule by rule, for the lines and rule names.
        if self._after_begin or redact_bytes(block, self.rules)[0] != block:
            self._rule_leaks(block, lowered, report)
            self._pem_leaks(block, starts, report)
        if self.vocabulary is not None:
            for match in self.vocabulary.finditer(lowered):
                report(match.start(), self.vocabulary.kind_of(match))
        first = self._line
        # A block cut inside a very long line: its next piece keeps the number.
        self._line += len(starts) - (0 if block.endswith(b"\n") else 1)
        return [Leak(first + index, rule) for index, rule in sorted(found)]

    def _rule_leaks(self, block: bytes, lowered: bytes, report: Callable[[int, str], None]) -> None:
        for rule in self.rules:
            for start, end in lines_holding(lowered, rule.triggers):
                for match in rule.pattern.finditer(block, start, end):
                    if rule.replace(match) != match.group(0) and not self._exempt(match):
                        report(match.start(), rule.name)

    def _exempt(self, match: re.Match[bytes]) -> bool:
        key = _key_of(match)
        return key is not None and key.lower() in self.exempt_keys

    def _pem_leaks(
        self, block: bytes, starts: list[int], report: Callable[[int, str], None]
    ) -> None:
        if self._after_begin:
            self._after_begin = False
            if _is_key_material(block, 0):
                report(0, PEM_RULE)
        for begin in PEM_BEGIN.finditer(block):
            rest_of_line = block[begin.end() : _line_end(block, begin.end())]
            if rest_of_line.strip():
                report(begin.start(), PEM_RULE)  # key material on the same line (JSON, \n)
                continue
            following = _line_end(block, begin.end()) + 1
            if following >= len(block):
                self._after_begin = True  # the next line is in the next block
            elif _is_key_material(block, following):
                report(following, PEM_RULE)  # the line of key material


def _key_of(match: re.Match[bytes]) -> bytes | None:
    return match.group("key") if "key" in match.re.groupindex else None


def _is_key_material(block: bytes, start: int) -> bool:
    """The line at `start` is neither the redactor's MASK, nor blank, nor an END line."""
    line = block[start : _line_end(block, start)].strip()
    return bool(line) and not line.startswith(MASK) and not line.startswith(b"-----END")


def _line_end(block: bytes, start: int) -> int:
    end = block.find(b"\n", start)
    return len(block) if end == -1 else end


def _line_starts(block: bytes) -> list[int]:
    return [0] + [m.end() for m in re.finditer(rb"\n", block) if m.end() < len(block)]


def manifest_exemptions(rules: Iterable[Rule]) -> frozenset[bytes]:
    """The manifest's own keys that name rules (see LeakScanner.exempt_keys)."""
    return frozenset(name.lower().encode() for name in {*(r.name for r in rules), PEM_RULE})


def scanner_for(
    name: str, rules: tuple[Rule, ...], vocabulary: LiteralMatcher | None
) -> LeakScanner:
    """The scanner for a file of a bundle (or of an extracted bundle's tree)."""
    exempt = manifest_exemptions(rules) if name == MANIFEST_NAME else frozenset()
    return LeakScanner(rules, vocabulary, exempt)


def scan_bytes_stream(
    chunks: Iterable[bytes],
    rules: Iterable[Rule],
    vocabulary: LiteralMatcher | None = None,
    scanner: LeakScanner | None = None,
) -> Iterator[Leak]:
    """The leaks of a byte stream given in pieces of any size."""
    scanner = scanner or LeakScanner(rules, vocabulary)
    for chunk in chunks:
        yield from scanner.feed(chunk)
    yield from scanner.close()


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def self_check(
    path: Path, rules: Iterable[Rule], vocabulary: LiteralMatcher | None = None
) -> list[Leak]:
    """The leaks of one staged file (the collection's self-check)."""
    return list(scan_bytes_stream(_file_chunks(path), rules, vocabulary))


def scan_tree(
    root: Path, rules: Iterable[Rule], vocabulary: LiteralMatcher | None = None
) -> tuple[int, list[FileLeak]]:
    """(files scanned, leaks) of every regular file under `root`; links are not
    followed (a raw tree may point anywhere)."""
    rules = tuple(rules)
    leaks: list[FileLeak] = []
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            count += 1
            relative = path.relative_to(root).as_posix()
            try:
                scanner = scanner_for(relative, rules, vocabulary)
                found = list(scan_bytes_stream(_file_chunks(path), rules, scanner=scanner))
            except OSError as error:
                raise BundleError(f"cannot read {path}: {error.strerror}") from None
            leaks += [FileLeak(relative, leak.line, leak.rule) for leak in found]
    return count, leaks


def scan_bundle(
    path: Path,
    password: str | None,
    sizes: dict[str, int],
    rules: Iterable[Rule],
    vocabulary: LiteralMatcher | None = None,
) -> list[FileLeak]:
    """The leaks of every file of a bundle already opened (and so checked for
    unsafe names and bombs) by collector.bundle, in ONE decompression pass:
    reading members one by one would decompress a solid archive again for each.
    `sizes`: each file's declared size, which a member may not exceed."""
    factory = _ScanFactory(tuple(rules), vocabulary, sizes)
    try:
        archive = py7zr.SevenZipFile(path, "r", password=password)
    except py7zr.PasswordRequired:
        raise PasswordNeeded(f"{path} is encrypted: give its password") from None
    except DAMAGE as error:
        raise BundleError(f"{path} is not a readable 7z bundle: {error}") from None
    try:
        archive.extractall(factory=factory)
    except MemberTooBig as error:
        raise BundleError(f"{path}: {error}") from None
    except DAMAGE as error:
        raise BundleError(f"{path} is damaged: {error}") from None
    finally:
        archive.close()
    return factory.leaks()


class _ScanSink(MemberSink):
    """Feeds one member to a LeakScanner as py7zr decompresses it."""

    def __init__(self, scanner: LeakScanner, declared: int) -> None:
        super().__init__(declared)
        self.scanner = scanner
        self.found: list[Leak] = []

    def take(self, data: bytes | bytearray) -> None:
        self.found += self.scanner.feed(bytes(data))

    def finish(self) -> list[Leak]:
        return self.found + self.scanner.close()


class _ScanFactory(WriterFactory):
    def __init__(
        self, rules: tuple[Rule, ...], vocabulary: LiteralMatcher | None, sizes: dict[str, int]
    ) -> None:
        self._rules = rules
        self._vocabulary = vocabulary
        self._sizes = sizes
        self.sinks: dict[str, _ScanSink] = {}

    def create(self, filename: str) -> Py7zIO:
        scanner = scanner_for(filename, self._rules, self._vocabulary)
        sink = _ScanSink(scanner, self._sizes.get(filename, 0))
        self.sinks[filename] = sink
        return sink

    def leaks(self) -> list[FileLeak]:
        return [
            FileLeak(name, leak.line, leak.rule)
            for name in sorted(self.sinks)
            for leak in self.sinks[name].finish()
        ]
