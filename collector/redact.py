"""The redaction stage: every byte that enters a bundle passes through here.

One table of rules, applied to a byte stream in blocks of whole lines, so logs of
any size and any encoding go through in bounded memory without touching bytes
that no rule matches. Plugins never redact on their own; they may add rules.
Secret *files* (keystores, stash files, private keys) are refused before they are
read at all, see `secret_file_reason`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

MASK = b"********"

# Key names whose value is a secret. Matched inside longer names too
# (bindPassword, SSLClientKeystoreDBPassword, db2.api_key...).
SECRET_KEY = (
    rb"[\w.-]*?(?:passw(?:or)?d|passphrase|pwd|secret|token|api_?key|credential"
    rb"|private_?key|keystash)[\w.-]*"
    rb"|pass"
)
# OLDPWD in an environment listing is a directory, never a password. (PWD is
# also db2cli.ini's password key, so PWD=/home/x is masked: safe over precise.)
_CWD_KEYS = {b"oldpwd"}
# Names that contain a secret word but hold a setting about secrets, not one:
# ipfrag_secret_interval, password_max_age, PasswordFile, token_expiry...
_SETTING_SUFFIX = re.compile(
    rb"(?:passw(?:or)?d|pwd|secret|token|credential)s?[_.-]?(?:interval|timeout|length|len"
    rb"|policy|expir\w*|age|days|max\w*|min\w*|count|attempts|retries|lifetime|file|path|dir"
    rb"|type|mode|enabled|required|encoding|algorithm|hash\w*|format|prompt|auth\w*)$",
    re.IGNORECASE,
)
# Values that are not secrets whatever the key says (nsswitch.conf's
# "passwd: files systemd", "password: required" in PAM, booleans).
_PLACEHOLDERS = frozenset(
    b"files compat systemd sss ldap nis none null true false yes no on off required optional"
    b" requisite sufficient * dns myhostname winbind db resolve mymachines altfiles"
    b" mdns4_minimal mdns4".split()
)


def _is_placeholder(value: bytes) -> bool:
    """Every word is a known non-secret (nsswitch sources and actions, booleans)."""
    words = value.lower().split()
    return bool(words) and all(
        word in _PLACEHOLDERS or (word.startswith(b"[") and word.endswith(b"]")) for word in words
    )


@dataclass(frozen=True)
class Rule:
    """A named redaction. `triggers` are lower-case literals, one of which must
    occur in a line for the pattern to match it: they let the stream skip the
    regex on the vast majority of log lines."""

    name: str
    pattern: re.Pattern[bytes]
    replace: Callable[[re.Match[bytes]], bytes]
    triggers: tuple[bytes, ...]


def mask_secret_value(match: re.Match[bytes]) -> bytes:
    """Replacement for rules with `lead`, `key`, `val` and `trail` groups: masks
    the value unless the key names a setting about secrets (password_max_age) or
    the value is a known non-secret (files, yes, none)."""
    key, value = match.group("key"), match.group("val")
    if key.lower() in _CWD_KEYS and value.startswith(b"/"):
        return match.group(0)
    if _SETTING_SUFFIX.search(key) or _is_placeholder(value):
        return match.group(0)
    return match.group("lead") + MASK + match.group("trail")


def make_rule(
    name: str,
    pattern: bytes,
    replace: Callable[[re.Match[bytes]], bytes],
    triggers: tuple[bytes, ...],
) -> Rule:
    """A rule for the table: case-insensitive, ^/$ at line boundaries. Plugins
    build their `redaction_rules` with it."""
    return Rule(name, re.compile(pattern, re.IGNORECASE | re.MULTILINE), replace, triggers)


_SECRET_KEY_TRIGGERS = (
    b"pass",
    b"pwd",
    b"secret",
    b"token",
    b"api",
    b"credential",
    b"private",
    b"keystash",
)


BASELINE_RULES: tuple[Rule, ...] = (
    # password="a b c" / password='x' / "password": "x" (XML attributes, quoted
    # ini and shell values, JSON)
    make_rule(
        "quoted_secret_value",
        rb"(?P<lead>\b(?P<key>" + SECRET_KEY + rb")[\"']?[^\S\n]*[:=][^\S\n]*(?P<q>[\"']))"
        rb"(?P<val>(?!\*{8})[^\"'\n]+)(?P<trail>(?P=q))",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
    ),
    # <parameter name="Password" value="x"/> (db2dsdriver.cfg, WebSphere custom properties)
    make_rule(
        "named_secret_value",
        rb"(?P<lead>\bname[^\S\n]*=[^\S\n]*(?P<q>[\"'])(?P<key>" + SECRET_KEY + rb")(?P=q)"
        rb"[^\S\n]+value[^\S\n]*=[^\S\n]*(?P<q2>[\"']))(?P<val>(?!\*{8})[^\"'\n]*)(?P<trail>(?P=q2))",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
    ),
    # <password>x</password>
    make_rule(
        "xml_secret_element",
        rb"(?P<lead><(?P<key>" + SECRET_KEY + rb")>)(?P<val>(?!\*{8})[^<\n]+)(?P<trail></)",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
    ),
    # YAML-style `password: two words  # comment`: the value is the rest of the line
    make_rule(
        "yaml_secret_value",
        rb"(?P<lead>^[^\S\n]*(?:-[^\S\n]+)?(?P<key>" + SECRET_KEY + rb"):[^\S\n]+)"
        rb"(?P<val>(?!\*{8})[^\s\"'#|>][^\n#]*?)(?P<trail>[^\S\n]*(?:#[^\n]*)?$)",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
    ),
    # password=x, password: x, PWD=x; (ini, properties, YAML, ODBC strings, argv)
    make_rule(
        "secret_key_value",
        rb"(?P<lead>\b(?P<key>" + SECRET_KEY + rb")[\"']?[^\S\n]*[:=][^\S\n]*)"
        rb"(?P<val>(?!\*{8})[^\s\"'<>;,&]+)(?P<trail>)",
        mask_secret_value,
        _SECRET_KEY_TRIGGERS,
    ),
    # scheme://user:secret@host
    make_rule(
        "url_credentials",
        rb"(?P<lead>\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)(?P<val>(?!\*{8})[^\s/@]+)(?P<trail>@)",
        lambda m: m.group("lead") + MASK + m.group("trail"),
        (b"://",),
    ),
    # WebSphere / Liberty encoded passwords: {xor}..., {aes}..., {custom:x}...
    make_rule(
        "ibm_encoded_password",
        rb"(?P<lead>\{(?:xor|aes|custom:[^}\s]*)\})(?P<val>(?!\*{8})[A-Za-z0-9+/=._-]+)",
        lambda m: m.group("lead") + MASK,
        (b"{xor}", b"{aes}", b"{custom:"),
    ),
)

PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----")
PEM_END = re.compile(rb"-----END ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----")
PEM_RULE = "pem_private_key"

# A line longer than this is redacted in pieces rather than buffered whole.
MAX_LINE = 1024 * 1024


class StreamRedactor:
    """Redacts a byte stream fed in arbitrary pieces; counts hits per rule.

    Works on whole lines (a value never spans two rule applications) except for
    PEM private keys, whose blocks span lines and are tracked as state.
    """

    def __init__(self, rules: Iterable[Rule] = BASELINE_RULES) -> None:
        self.rules = tuple(rules)
        self.counts: Counter[str] = Counter()
        self._pending = b""
        self._in_pem = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def feed(self, data: bytes) -> bytes:
        data = self._pending + data
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) < MAX_LINE:
            self._pending = data
            return b""
        if cut == 0:
            cut = len(data)
        self._pending = data[cut:]
        return self._redact_block(data[:cut])

    def close(self) -> bytes:
        tail, self._pending = self._pending, b""
        return self._redact_block(tail) if tail else b""

    def _redact_block(self, block: bytes) -> bytes:
        pieces: list[bytes] = []
        pos = 0
        while pos < len(block):
            if self._in_pem:
                end = PEM_END.search(block, pos)
                if end is None:
                    return b"".join(pieces)  # the rest of the block is key material
                pieces.append(end.group(0))
                pos = end.end()
                self._in_pem = False
                continue
            begin = PEM_BEGIN.search(block, pos)
            stop = begin.start() if begin else len(block)
            pieces.append(self._apply_rules(block[pos:stop]))
            if begin is None:
                break
            pieces.append(begin.group(0) + b"\n" + MASK + b"\n")
            self.counts[PEM_RULE] += 1
            self._in_pem = True
            pos = begin.end()
        return b"".join(pieces)

    def _apply_rules(self, text: bytes) -> bytes:
        lower = text.lower()
        for rule in self.rules:
            spans = _candidate_lines(lower, rule.triggers)
            if spans:
                text = self._apply_rule(rule, text, spans)
                lower = text.lower()
        return text

    def _apply_rule(self, rule: Rule, text: bytes, spans: list[tuple[int, int]]) -> bytes:
        hits = 0

        def replace(match: re.Match[bytes]) -> bytes:
            nonlocal hits
            result = rule.replace(match)
            hits += result != match.group(0)
            return result

        pieces = []
        done = 0
        for start, end in spans:
            pieces.append(text[done:start])
            pieces.append(rule.pattern.sub(replace, text[start:end]))
            done = end
        pieces.append(text[done:])
        if hits:
            self.counts[rule.name] += hits
        return b"".join(pieces)


def _candidate_lines(lower: bytes, triggers: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) spans of the lines that contain a trigger."""
    spans = []
    for trigger in triggers:
        found = lower.find(trigger)
        while found != -1:
            start = lower.rfind(b"\n", 0, found) + 1
            end = lower.find(b"\n", found)
            end = len(lower) if end == -1 else end + 1
            spans.append((start, end))
            found = lower.find(trigger, end)
    if not spans:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact_bytes(data: bytes, rules: Iterable[Rule] = BASELINE_RULES) -> tuple[bytes, int]:
    """Redact a complete small value (a command line, a fact); returns (text, hits)."""
    redactor = StreamRedactor(rules)
    out = redactor.feed(data) + redactor.close()
    return out, redactor.total


def redact_text(text: str) -> str:
    """Redact a user-given string (a description, an argument) for the manifest."""
    return redact_bytes(text.encode("utf-8"))[0].decode("utf-8")


# Files that are secrets by nature: they are never read, only named.
SECRET_SUFFIXES = frozenset(
    {
        ".kdb",
        ".sth",
        ".rdb",
        ".crl",
        ".p12",
        ".pfx",
        ".jks",
        ".jceks",
        ".keystore",
        ".kyr",
        # Domino/Notes ID files hold the private key; .key files are private keys
        # that may be DER-encoded, which the content sniffing cannot see.
        ".id",
        ".key",
    }
)
SECRET_NAMES = frozenset(
    {
        "shadow",
        "gshadow",
        "shadow-",
        "gshadow-",
        ".pgpass",
        ".netrc",
        ".git-credentials",
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "id_ecdsa_sk",
        "id_ed25519_sk",
        "ltpa.keys",  # WebSphere/Liberty LTPA keys
        "passwd_file",  # Informix onpassword (Enterprise Replication, Connection Manager)
    }
)
_KEY_SNIFF = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY|\bPRIVATE KEY BLOCK-----")
SNIFF_BYTES = 4096


def secret_file_reason(path: str, head: bytes = b"") -> str | None:
    """Why a file must never be collected, or None. `head`: its first bytes."""
    lower = PurePosixPath(path).name.lower()
    # Every suffix counts: key.kdb.bak and key.sth.old are still key stores.
    for suffix in PurePosixPath(lower).suffixes:
        if suffix in SECRET_SUFFIXES:
            return f"secret file type {suffix}"
    if lower in SECRET_NAMES or (lower.startswith("ssh_host_") and lower.endswith("_key")):
        return "secret file (credentials or private key)"
    if _KEY_SNIFF.search(head):
        return "contains a private key"
    return None
