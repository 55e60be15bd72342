"""Consistent obfuscation of host names, IP addresses, MACs, user names and
keywords (opt-in: `--obfuscate hostnames,ips,macs,users`, `--keyword`).

Works on bytes, in blocks of whole lines, like the redactor: bytes that match
nothing (non-UTF-8 logs, cp1252, EBCDIC-converted text) pass untouched. The
replacements come from collector.pseudonyms (keyed, so runs and hosts that share
a map agree) and are recorded in the private map (collector.obfuscation_map).

Two compiled matchers do all the work, so the cost is linear in the data
whatever the size of the vocabulary:

1. One regex for the literal vocabulary, built as a trie (common prefixes
   shared, longest match first), matched on an ASCII-lower-cased copy of the
   block: the host's short name and FQDN, the names in /etc/hosts (not
   localhost*, ip6-*), the domains of those FQDNs and resolv.conf's search
   domains, user names, keywords and every original already in the map. A
   literal matches only where no letter or digit touches it on either side
   (`dbhost01` matches in `dbhost01.log` and `/home/dbhost01/`, never in
   `dbhost012`). Names shorter than 3 characters found on the host are left
   out: they would hit ordinary words. Any other FQDN under a known domain is
   found by a second pattern run only on the lines holding that domain.
2. One regex for IPv4, IPv6 and MAC addresses (only the kinds asked for).

What is NOT an address, so version strings, timestamps and settings survive:

- a dotted quad glued to a letter, digit, `_` or `.` on either side
  (`v9.0.5.2`, `DB2v11.5.9.0`, runs of more than four numbers such as
  `1.3.6.1.4.1.2` or `11.5.9.0.1`);
- a quad whose numbers have leading zeros or exceed 255 (`2026.01.02.03`);
- a quad right after a cue word and only separators (`version`, `ver`,
  `level`, `release`, `fix pack`, `fixpack`, `fp`, `build`, `vrmf`, then
  `:`, `=`, quotes, `>` or blanks): `Version: 9.0.5.2`, `<version>9.0.5.14`,
  `Fix Pack 11.5.9.0`; unless the map already lists it as an address;
- the time part of a Db2 timestamp (`2026-11-27-10.15.30.123`), and times
  such as `10:15:30` (an IPv6 address needs `::` or eight groups);
- addresses that identify no one stay: loopback (127/8, ::1), unspecified
  (0.0.0.0, ::, all of 0/8), broadcast, netmasks (255.255.255.0, contiguous
  ones), multicast (224/4, ff00::/8), link-local (169.254/16, fe80::/10; a
  fe80:: address derived from a MAC gets the MAC's pseudonym when MACs are
  obfuscated), the all-zero and broadcast MACs.

User names: accounts in <sysroot>/etc/passwd with a uid of 1000 or more, and
below 1000 the Db2 instance owners (a home that holds `sqllib`), except
`nobody` and the products' fixed default accounts (DEFAULT_ACCOUNTS: `mqm`,
`informix`, `db2inst1`, ...): those are the same at every customer, so they
identify no one, and they also name product folders (`/var/mqm`,
`/opt/informix`) that must stay readable. Matching is case-insensitive for
every kind (JSMITH is jsmith). Keywords match the same way (alone or between
separators: `acme` in `acme-prod` and `db.acme.com`, not in `acmecorp`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collector.errors import BadInput
from collector.host import Host
from collector.obfuscation_map import (
    MAP_FILE_NAME,
    ObfuscationMap,
    load_map,
    load_or_create,
)
from collector.pseudonyms import IPV4_BITS, IPV6_BITS, Pseudonyms

KINDS = ("hostnames", "ips", "macs", "users")
# --obfuscate kind -> map entry kind
ENTRY_KIND = {"hostnames": "hostname", "ips": "ip", "macs": "mac", "users": "user"}
MIN_LEARNED = 3  # shorter names found on the host are not obfuscated (see above)
MAX_LINE = 1024 * 1024  # a longer line is obfuscated in pieces, cut at a blank
CHUNK = 1024 * 1024
FIRST_USER_UID = 1000
NOBODY_UIDS = frozenset({65534, 4294967294})
DEFAULT_ACCOUNTS = frozenset(
    {"mqm", "informix", "notes", "db2inst1", "db2fenc1", "dasusr1", "wasadmin", "nobody"}
)
LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
HOSTNAME_SYNTAX = re.compile(LABEL + r"(?:\." + LABEL + r")*")
NOT_HOSTNAMES = re.compile(r"^(localhost|ip6-|broadcasthost$)", re.IGNORECASE)


def parse_kinds(text: str) -> frozenset[str]:
    """`hostnames,ips` -> the set; `all` means every kind. Bad names: BadInput."""
    chosen = {part.strip().lower() for part in text.split(",") if part.strip()}
    if "all" in chosen:
        return frozenset(KINDS)
    unknown = sorted(chosen - set(KINDS))
    if unknown or not chosen:
        raise BadInput(
            f"--obfuscate: unknown kind {unknown[0]!r}" if unknown else "--obfuscate: no kind given"
        )
    return frozenset(chosen)


def read_keyword_file(path: Path) -> list[str]:
    """One keyword per line; blank lines and `#` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BadInput(f"cannot read keyword file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"keyword file {path} is not UTF-8 text") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def check_keywords(keywords: Iterable[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(word.strip() for word in keywords))
    for word in cleaned:
        if not word or not word.isprintable():
            raise BadInput(f"keyword {word!r} is empty or holds control characters")
    return cleaned


# --- the literal matcher -------------------------------------------------------


def trie_pattern(words: Iterable[bytes]) -> bytes:
    """A regex for a set of lower-case literals with common prefixes shared, the
    longer continuation always tried before stopping (longest match first)."""
    trie: dict[int, Any] = {}
    for word in words:
        node = trie
        for byte in word:
            node = node.setdefault(byte, {})
        node[-1] = {}  # end of a word

    def render(node: dict[int, Any]) -> bytes:
        branches = [
            re.escape(bytes([byte])) + render(child)
            for byte, child in sorted(node.items())
            if byte >= 0
        ]
        if not branches:
            return b""
        if len(branches) == 1 and -1 not in node:
            return branches[0]
        return b"(?:" + b"|".join(branches) + (b")?" if -1 in node else b")")

    return render(trie)


_ALNUM = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789")


class LiteralMatcher:
    """Finds any of a set of literals (case-insensitive, not touching a letter or
    digit) with one compiled regex; `kind_of` tells what a match is."""

    def __init__(self, literals: dict[str, str]) -> None:
        self.kinds = {word.lower(): kind for word, kind in literals.items() if word}
        encoded = [w.encode("utf-8") for w in self.kinds]
        # No leading lookbehind: a pattern that starts with its literals lets
        # the regex engine skip ahead to a possible first character (3x faster);
        # the start boundary is checked here instead.
        self.regex = re.compile(trie_pattern(encoded) + rb"(?![a-z0-9])") if encoded else None

    def finditer(self, lowered: bytes) -> Iterator[re.Match[bytes]]:
        """Matches in text already lower-cased with bytes.lower()."""
        if self.regex is None:
            return
        search = self.regex.search
        pos = 0
        while (match := search(lowered, pos)) is not None:
            start = match.start()
            if start and lowered[start - 1] in _ALNUM:
                pos = start + 1  # glued to a word: a shorter literal may start later
                continue
            yield match
            pos = match.end()

    def kind_of(self, match: re.Match[bytes]) -> str:
        return self.kinds[match.group(0).decode("utf-8", "surrogateescape")]


# --- the address matcher -------------------------------------------------------

_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = _OCTET + rb"(?:\." + _OCTET + rb"){3}"
_HEX = rb"[0-9A-Fa-f]{1,4}"
_GROUPS = _HEX + rb"(?::" + _HEX + rb"){0,7}"
ADDRESS_PATTERNS = {
    "mac": rb"(?<![:-])[0-9A-Fa-f]{2}(?P<sep>[:-])[0-9A-Fa-f]{2}(?:(?P=sep)[0-9A-Fa-f]{2}){4}"
    rb"(?![\w:-])",
    "ipv4": rb"(?<![0-9]{4}-[0-9]{2}-[0-9]{2}-)" + _IPV4 + rb"(?![\w]|\.[0-9])",
    "ipv6": rb"(?<!:)(?:(?:" + _HEX + rb":){7}" + _HEX + rb"|(?:" + _GROUPS + rb")?::"
    rb"(?:(?:" + _GROUPS + rb":)?" + _IPV4 + rb"|" + _GROUPS + rb")?)(?![\w:]|\.[0-9])",
}
# Shared by every address: not glued to a word or a dotted run, and a separator
# within the first five characters. The gate lets the regex give up at once on
# the vast majority of positions (it doubles the throughput).
ADDRESS_START = rb"(?=[0-9A-Fa-f:])(?<![\w.])(?=[0-9A-Fa-f]{0,4}[:.-][0-9A-Fa-f:])"
VERSION_CUE = re.compile(
    rb"(?:\bversion|\bver|\blevel|\brelease|\bfix ?pack|\bfp|\bbuild|\bvrmf)[\s:=\"'>]{0,8}$",
    re.IGNORECASE,
)
MAC_CUE = re.compile(rb"(?:ether|hwaddr|lladdr|\bmac|address|addr)[\s:=\"'>]{0,8}$", re.IGNORECASE)
CUE_WINDOW = 24


def address_regex(kinds: frozenset[str]) -> re.Pattern[bytes] | None:
    wanted = []
    if "macs" in kinds:
        wanted.append("mac")
    if "ips" in kinds or "macs" in kinds:  # fe80:: addresses carry MACs
        wanted += ["ipv4", "ipv6"]
    alternatives = [rb"(?P<%s>%s)" % (name.encode(), ADDRESS_PATTERNS[name]) for name in wanted]
    if not alternatives:
        return None
    return re.compile(ADDRESS_START + b"(?:" + b"|".join(alternatives) + b")")


def _kept_ipv4(address: ipaddress.IPv4Address) -> bool:
    value = int(address)
    inverse = ~value & 0xFFFFFFFF
    netmask = value != 0 and inverse & (inverse + 1) == 0
    return (
        netmask
        or address.is_loopback
        or address.is_multicast
        or address.is_link_local
        or value >> 24 == 0
        or value == 0xFFFFFFFF
    )


def _cued(cue: re.Pattern[bytes], block: bytes, start: int) -> bool:
    """A cue word and only separators right before the candidate, on its line."""
    before = block[max(0, start - CUE_WINDOW) : start]
    before = before[before.rfind(b"\n") + 1 :]
    return cue.search(before) is not None


def _decimal_only(text: str) -> bool:
    """Colon-separated decimal numbers (Db2's `Codepath` data: 6:35:29:22:33:35:1:11)."""
    return text.replace(":", "").replace("-", "").isdigit()


# --- the obfuscator ------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """What the host and the map teach: literal -> entry kind, and the domains."""

    literals: dict[str, str]
    domains: frozenset[str]


class Obfuscator:
    """Replaces what the chosen kinds match, consistently, and remembers what it
    replaced for the map. Safe to share between the runner's threads."""

    def __init__(
        self,
        kinds: frozenset[str],
        keywords: tuple[str, ...],
        mapping: ObfuscationMap,
        vocabulary: Vocabulary,
    ) -> None:
        self.kinds = kinds
        self.keywords = keywords
        self.map = mapping
        self.pseudonyms = Pseudonyms(mapping.key)
        self.domains = vocabulary.domains
        self.literals = LiteralMatcher(vocabulary.literals)
        self.addresses = address_regex(kinds)
        self._domain_regex = _under_domain_regex(vocabulary.domains)
        self._domain_needles = sorted(d.encode() for d in vocabulary.domains)
        self._known_ips = set(mapping.entries["ip"]) if "ips" in kinds else set()
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    @classmethod
    def from_options(
        cls,
        host: Host,
        kinds: Iterable[str],
        keywords: Iterable[str] = (),
        map_path: Path | None = None,
    ) -> Obfuscator:
        """The obfuscator for a collection: the map at `map_path` (else the
        user's default map, created on first use) and the host's vocabulary."""
        chosen = frozenset(kinds)
        words = check_keywords(keywords)
        mapping = load_or_create(map_path or default_map_path(host))
        vocabulary = host_vocabulary(host, chosen, words, mapping)
        return cls(chosen, words, mapping, vocabulary)

    @classmethod
    def for_map(cls, mapping: ObfuscationMap) -> Obfuscator:
        """Every kind, no host vocabulary: for seeding and looking up a map."""
        return cls(frozenset(KINDS), (), mapping, Vocabulary({}, frozenset()))

    # --- transforming --------------------------------------------------------

    def block(self, data: bytes) -> bytes:
        """Obfuscate whole lines (the last may lack its newline)."""
        counts: Counter[str] = Counter()
        data = self._names_pass(data, counts)
        data = self._address_pass(data, counts)
        if counts:
            with self._lock:
                self.counts.update(counts)
        return data

    def text(self, value: str) -> str:
        encoded = value.encode("utf-8", "surrogateescape")
        return self.block(encoded).decode("utf-8", "surrogateescape")

    def path(self, name: str) -> str:
        """A bundle member name, each component through the same transform
        (replacements never hold a `/`, so the tree keeps its shape)."""
        return self.text(name)

    def document(self, value: Any) -> Any:
        """Every string value and every dict key of a JSON document transformed
        (the manifest, facts)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.document(k): self.document(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.document(item) for item in value]
        return value

    def _names_pass(self, data: bytes, counts: Counter[str]) -> bytes:
        """Names under a known domain first, then the literals in what is left,
        so that no replacement is ever matched again."""
        pieces: list[bytes] = []
        done = 0
        for start, end in self._domain_matches(data):
            pieces += [self._literal_pass(data[done:start], counts), self._name(data, start, end)]
            counts["hostname"] += 1
            done = end
        return b"".join(pieces) + self._literal_pass(data[done:], counts)

    def _name(self, data: bytes, start: int, end: int) -> bytes:
        return self._replace("hostname", data[start:end].decode("ascii")).encode("ascii")

    def _domain_matches(self, data: bytes) -> Iterator[tuple[int, int]]:
        """Spans of FQDNs under a known domain, searched only on the lines that
        hold one of the domains."""
        if self._domain_regex is None:
            return
        lowered = data.lower()
        for start, end in lines_holding(lowered, self._domain_needles):
            for match in self._domain_regex.finditer(lowered, start, end):
                yield match.span()

    def _literal_pass(self, data: bytes, counts: Counter[str]) -> bytes:
        pieces: list[bytes] = []
        done = 0
        for match in self.literals.finditer(data.lower()):
            start, end = match.span()
            original = data[start:end].decode("utf-8", "surrogateescape")
            kind = self.literals.kind_of(match)
            pieces += [data[done:start], self._replace(kind, original).encode()]
            counts[kind] += 1
            done = end
        return b"".join(pieces) + data[done:] if pieces else data

    def _address_pass(self, data: bytes, counts: Counter[str]) -> bytes:
        if self.addresses is None:
            return data

        def replace(match: re.Match[bytes]) -> bytes:
            kind = match.lastgroup or ""
            text = match.group(0).decode("ascii")
            if kind == "mac":
                result = self._mac(text, data, match.start())
            elif kind == "ipv4":
                result = self._ipv4(text, data, match.start())
            elif _decimal_only(text) and text not in self._known_ips:
                result = text
            else:
                result = self._ipv6(text)
            if result != text:
                counts["mac" if kind == "mac" else "ip"] += 1
            return result.encode("ascii")

        return self.addresses.sub(replace, data)

    # --- one value -----------------------------------------------------------

    def _replace(self, kind: str, original: str) -> str:
        folded = original.lower()
        if kind == "hostname":
            derive = self.pseudonyms.domain if folded in self.domains else self.pseudonyms.hostname
            replacement = derive(folded)
        elif kind == "user":
            replacement = self.pseudonyms.user(folded)
        else:
            replacement = self.pseudonyms.keyword(folded)
        self.map.learn(kind, folded, replacement)
        return replacement

    def _ipv4(self, text: str, block: bytes, start: int) -> str:
        if "ips" not in self.kinds:
            return text
        address = ipaddress.IPv4Address(text)
        if _kept_ipv4(address):
            return text
        if text not in self._known_ips and _cued(VERSION_CUE, block, start):
            return text
        replacement = str(ipaddress.IPv4Address(self.pseudonyms.ip(int(address), IPV4_BITS)))
        self.map.learn("ip", text, replacement)
        return replacement

    def _ipv6(self, text: str) -> str:
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return text  # `1:2::3::4` and the like: not an address
        if address.is_link_local:
            return self._link_local(address, text)
        if "ips" not in self.kinds or address.is_loopback or address.is_unspecified:
            return text
        if address.is_multicast:
            return text
        if address.ipv4_mapped is not None:
            # The IPv4 pseudonym, so the address reads the same in both forms.
            return f"::ffff:{self._ipv4(str(address.ipv4_mapped), b'', 0)}"
        value = self.pseudonyms.ip(int(address), IPV6_BITS)
        replacement = ipaddress.IPv6Address(value).compressed
        self.map.learn("ip", address.compressed, replacement)
        return replacement

    def _link_local(self, address: ipaddress.IPv6Address, text: str) -> str:
        """fe80:: stays, but an interface id built from a MAC (EUI-64) carries
        the MAC: it gets the MAC's pseudonym."""
        iid = address.packed[8:]
        if "macs" not in self.kinds or iid[3:5] != b"\xff\xfe":
            return text
        mac = bytes([iid[0] ^ 0x02]) + iid[1:3] + iid[5:]
        fake = self.pseudonyms.mac(mac)
        new_iid = bytes([fake[0] ^ 0x02]) + fake[1:3] + b"\xff\xfe" + fake[3:]
        return ipaddress.IPv6Address(address.packed[:8] + new_iid).compressed

    def _mac(self, text: str, block: bytes, start: int) -> str:
        separator = text[2]
        octets = bytes.fromhex(text.replace(separator, ""))
        if octets in (b"\x00" * 6, b"\xff" * 6):
            return text
        canonical = octets.hex(":")
        known = canonical in self.map.entries["mac"]
        if _decimal_only(text) and not known and not _cued(MAC_CUE, block, start):
            return text
        fake = self.pseudonyms.mac(octets).hex()
        if any(c.isupper() for c in text):
            fake = fake.upper()
        replacement = separator.join(fake[i : i + 2] for i in range(0, 12, 2))
        self.map.learn("mac", canonical, bytes.fromhex(fake).hex(":"))
        return replacement

    # --- seeding the map ------------------------------------------------------

    def seed(self, kind: str, value: str) -> list[tuple[str, str]]:
        """Add an original to the map before any run (`pa-collect map add`):
        its replacement, and for a FQDN its short name and domain too. Returns
        the (original, replacement) pairs; a value that is not of its kind is
        BadInput."""
        value = value.strip()
        if not value:
            raise BadInput(f"empty {kind} value")
        if kind == "hostname":
            return self._seed_hostname(value.lower().rstrip("."))
        if kind == "ip":
            return [(value, self._seed_ip(value))]
        if kind == "mac":
            return [(value, self._seed_mac(value))]
        return [(value.lower(), self._replace(kind, value))]

    def _seed_hostname(self, name: str) -> list[tuple[str, str]]:
        if not HOSTNAME_SYNTAX.fullmatch(name):
            raise BadInput(f"{name!r} is not a host name")
        names = [name, name.split(".")[0]]
        domain = _domain_of(name)
        if domain:
            self.domains = self.domains | {domain}
            names.append(domain)
        return [(n, self._replace("hostname", n)) for n in dict.fromkeys(names)]

    def _seed_ip(self, text: str) -> str:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise BadInput(f"{text!r} is not an IP address") from None
        width = IPV4_BITS if address.version == 4 else IPV6_BITS
        fake = ipaddress.ip_address(self.pseudonyms.ip(int(address), width)).compressed
        self.map.learn("ip", address.compressed, fake)
        return fake

    def _seed_mac(self, text: str) -> str:
        if not re.fullmatch(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}", text):
            raise BadInput(f"{text!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
        octets = bytes.fromhex(text.replace(text[2], ""))
        fake = self.pseudonyms.mac(octets).hex(":")
        self.map.learn("mac", octets.hex(":"), fake)
        return fake

    def reverse_ip(self, text: str) -> str | None:
        """The original of an obfuscated address, computed with the key (works
        for addresses the map never recorded), or None if `text` is no address."""
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return None
        width = IPV4_BITS if address.version == 4 else IPV6_BITS
        return ipaddress.ip_address(self.pseudonyms.invert_ip(int(address), width)).compressed

    # --- reporting -----------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """For the manifest: what was obfuscated and how often, never a value."""
        kinds = sorted(self.kinds | ({"keywords"} if self.keywords else set()))
        with self._lock:
            counts = {kind: self.counts.get(kind, 0) for kind in _counted_kinds(kinds)}
        return {
            "kinds": kinds,
            "counts": counts,
            "keywords": len(self.keywords),
            "map_id": self.map.map_id,
        }

    def save(self) -> None:
        """Write what this run learned into the map (0600, atomic)."""
        with self._lock:
            self.map.save()


def _counted_kinds(kinds: list[str]) -> list[str]:
    return [ENTRY_KIND.get(kind, "keyword") for kind in kinds]


def _under_domain_regex(domains: frozenset[str]) -> re.Pattern[bytes] | None:
    """Any name of one or more labels followed by a known domain (matched on
    lower-cased text)."""
    if not domains:
        return None
    suffixes = trie_pattern(sorted(d.encode() for d in domains))
    return re.compile(rb"(?<![\w.-])(?:[\w-]+\.)+" + suffixes + rb"(?![\w-])(?!\.[\w-])")


def lines_holding(lowered: bytes, needles: Iterable[bytes]) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) spans of the lines that contain a needle."""
    spans = []
    for needle in needles:
        found = lowered.find(needle)
        while found != -1:
            start = lowered.rfind(b"\n", 0, found) + 1
            end = lowered.find(b"\n", found)
            end = len(lowered) if end == -1 else end + 1
            spans.append((start, end))
            found = lowered.find(needle, end)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# --- learning the host's vocabulary -------------------------------------------


def default_map_path(host: Host) -> Path:
    return host.state_dir / MAP_FILE_NAME


def host_vocabulary(
    host: Host, kinds: frozenset[str], keywords: tuple[str, ...], mapping: ObfuscationMap
) -> Vocabulary:
    """Literal vocabulary: the map's originals of the chosen kinds and keywords,
    and what the host shows (its names, /etc/hosts, resolv.conf, passwd)."""
    literals: dict[str, str] = {}
    names: set[str] = set()
    if "hostnames" in kinds:
        names = host_names(host) | set(mapping.entries["hostname"])
    if "users" in kinds:
        for user in set(local_users(host)) | set(mapping.entries["user"]):
            literals[user.lower()] = "user"
    for word in [*mapping.entries["keyword"], *keywords]:
        literals[word.lower()] = "keyword"
    domains = {d for d in (_domain_of(n) for n in names) if d} | search_domains(host, kinds)
    for name in names:
        literals[name] = "hostname"
        literals.setdefault(name.split(".")[0], "hostname")  # the short name of a FQDN
    for domain in domains:
        literals[domain] = "hostname"
    return Vocabulary(literals, frozenset(domains))


def _domain_of(name: str) -> str | None:
    """The domain of a FQDN when it is more than a top-level label."""
    labels = name.lower().rstrip(".").split(".")
    return ".".join(labels[1:]) if len(labels) >= 3 else None


def host_names(host: Host) -> set[str]:
    """The host's own name and FQDN and every name in its /etc/hosts, lower-cased."""
    names = {host.hostname().strip().lower(), host.fqdn().strip().lower()}
    for line in _lines(host, "/etc/hosts"):
        fields = line.split("#", 1)[0].split()
        names.update(field.lower() for field in fields[1:])
    return {n.rstrip(".") for n in names if len(n) >= MIN_LEARNED and not NOT_HOSTNAMES.match(n)}


def search_domains(host: Host, kinds: frozenset[str]) -> set[str]:
    """resolv.conf's `domain` and `search` domains of two labels or more."""
    if "hostnames" not in kinds:
        return set()
    found: set[str] = set()
    for line in _lines(host, "/etc/resolv.conf"):
        fields = line.split()
        if fields and fields[0] in ("domain", "search"):
            found.update(f.lower().rstrip(".") for f in fields[1:] if f.count(".") >= 1)
    return found


def local_users(host: Host) -> list[str]:
    """Accounts that name a person or a customer's own product owner (see the
    module docstring for the choice)."""
    users = []
    for line in _lines(host, "/etc/passwd"):
        fields = line.split(":")
        if len(fields) < 7 or not fields[2].isdigit():
            continue
        name, uid, home = fields[0], int(fields[2]), fields[5]
        if len(name) < MIN_LEARNED or name in DEFAULT_ACCOUNTS or uid in NOBODY_UIDS:
            continue
        if uid >= FIRST_USER_UID or _is_instance_owner(host, home):
            users.append(name)
    return users


def _is_instance_owner(host: Host, home: str) -> bool:
    return home.startswith("/") and home != "/" and host.path(home + "/sqllib").is_dir()


def _lines(host: Host, host_path: str) -> list[str]:
    try:
        return host.path(host_path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


# --- streams and files ---------------------------------------------------------


class ObfuscatingStream:
    """Obfuscates a byte stream fed in arbitrary pieces, holding back a partial
    line (a value never spans two blocks; a line longer than MAX_LINE is cut at
    its last blank)."""

    def __init__(self, obfuscator: Obfuscator) -> None:
        self.obfuscator = obfuscator
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        data = self._pending + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) < MAX_LINE:
                self._pending = data
                return b""
            cut = max(data.rfind(b" "), data.rfind(b"\t")) + 1 or len(data)
        self._pending = data[cut:]
        return self.obfuscator.block(data[:cut])

    def close(self) -> bytes:
        tail, self._pending = self._pending, b""
        return self.obfuscator.block(tail) if tail else b""


def obfuscate_file(src: Path, dst: Path, obfuscator: Obfuscator) -> tuple[int, str]:
    """Write an obfuscated copy of `src` (0600); returns its size and sha256."""
    stream = ObfuscatingStream(obfuscator)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with src.open("rb") as source, os.fdopen(fd, "wb") as out:
        while True:
            chunk = source.read(CHUNK)
            data = stream.feed(chunk) if chunk else stream.close()
            out.write(data)
            digest.update(data)
            size += len(data)
            if not chunk:
                break
    return size, digest.hexdigest()


def load_vocabulary_map(path: Path) -> ObfuscationMap:
    """A map read only to look for its originals (verify --leaks): a map other
    users can read is only warned about."""
    return load_map(path, private=False)
