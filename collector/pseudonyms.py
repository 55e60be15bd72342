"""Keyed pseudonyms: what a host name, address, MAC, user or keyword becomes.

Every replacement is *derived* from HMAC-SHA256(key, kind + original), never
counted, so several hosts that share one key (one obfuscation map for a case)
agree on every replacement without talking to each other.

- Host names keep their domain structure, label by label: the host label
  becomes `host-xxxxxx` (keyed by the label alone, so `dbhost01` and
  `dbhost01.example.com` agree), each domain label `dom-xxxxxx` (keyed by the
  whole suffix from that label, so one domain always maps one way), and the
  top-level label is kept.
- IPv4 and IPv6 addresses are prefix-preserving (Crypto-PAn): bit i of the
  result is bit i of the original flipped by a keyed function of the bits
  before it. Two addresses that share an n-bit prefix share exactly an n-bit
  prefix afterwards, so subnets stay subnets and the mapping is a bijection
  that `invert_ip` undoes with the key.
- A MAC keeps its vendor half (the OUI says "KVM" or "VMware", not who the
  customer is) and gets a keyed device half.
"""

from __future__ import annotations

import hashlib
import hmac

TAG_LENGTH = 6  # hex digits in host-/dom-/user-/keyword- pseudonyms
IPV4_BITS = 32
IPV6_BITS = 128


class Pseudonyms:
    """The derivations for one key, with caches (an address costs up to 128 HMACs
    the first time, nothing after)."""

    def __init__(self, key: bytes) -> None:
        self._hmac = hmac.new(key, digestmod=hashlib.sha256)
        self._flips: dict[tuple[int, int, int], int] = {}

    def _digest(self, kind: str, value: bytes) -> bytes:
        mac = self._hmac.copy()
        mac.update(kind.encode() + b"\0" + value)
        return mac.digest()

    def tag(self, kind: str, original: str) -> str:
        """A short keyed tag of a case-insensitive original."""
        return self._digest(kind, original.lower().encode("utf-8")).hex()[:TAG_LENGTH]

    # --- names ---------------------------------------------------------------

    def hostname(self, name: str) -> str:
        """`dbhost01.example.com` -> `host-1a2b3c.dom-4d5e6f.com`; a short name
        -> `host-1a2b3c` (the same as its FQDN's first label)."""
        labels = name.lower().rstrip(".").split(".")
        first = f"host-{self.tag('host', labels[0])}"
        return ".".join([first, *self._domain_labels(labels[1:])]) + _trailing_dot(name)

    def domain(self, name: str) -> str:
        """A bare domain, every label but the top-level one keyed: `example.com`
        -> `dom-4d5e6f.com`, as in every FQDN under it."""
        labels = name.lower().rstrip(".").split(".")
        return ".".join(self._domain_labels(labels)) + _trailing_dot(name)

    def _domain_labels(self, labels: list[str]) -> list[str]:
        if not labels:
            return []
        keyed = [f"dom-{self.tag('domain', '.'.join(labels[i:]))}" for i in range(len(labels) - 1)]
        return [*keyed, labels[-1]]

    def user(self, name: str) -> str:
        return f"user-{self.tag('user', name)}"

    def keyword(self, word: str) -> str:
        return f"keyword-{self.tag('keyword', word)}"

    # --- addresses -----------------------------------------------------------

    def _flip(self, width: int, index: int, prefix: int) -> int:
        """The keyed bit that flips bit `index` of an address whose first
        `index` bits are `prefix`."""
        cacheable = index < width * 3 // 4
        cached = self._flips.get((width, index, prefix)) if cacheable else None
        if cached is None:
            value = prefix.to_bytes(width // 8, "big") + index.to_bytes(1, "big")
            cached = self._digest(f"ip{width}", value)[0] & 1
            if cacheable:
                # Short prefixes are shared by many addresses; the last quarter
                # of the bits would only fill memory on a log of many clients.
                self._flips[(width, index, prefix)] = cached
        return cached

    def ip(self, address: int, width: int) -> int:
        """Prefix-preserving pseudonym of an IPv4 (width 32) or IPv6 (128) address."""
        result = 0
        for index in range(width):
            shift = width - 1 - index
            prefix = address >> (shift + 1)
            bit = (address >> shift) & 1
            result = (result << 1) | (bit ^ self._flip(width, index, prefix))
        return result

    def invert_ip(self, pseudonym: int, width: int) -> int:
        """The original of `ip(original, width)`: each original bit follows from
        the bits already recovered."""
        original = 0
        for index in range(width):
            shift = width - 1 - index
            bit = (pseudonym >> shift) & 1
            original = (original << 1) | (bit ^ self._flip(width, index, original))
        return original

    def mac(self, octets: bytes) -> bytes:
        """The vendor half kept, the device half keyed by the whole address."""
        return octets[:3] + self._digest("mac", octets)[:3]


def _trailing_dot(name: str) -> str:
    return "." if name.endswith(".") else ""
