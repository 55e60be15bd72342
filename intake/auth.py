"""API tokens and registered cases, kept under <storage>/auth/.

A token is `pai_<id>_<secret>`: the id finds the record, the secret is checked
against sha256(salt + secret) with a constant-time comparison. Only the hash is
stored; the token itself is printed once when it is made. The secret is 256
random bits, so a fast hash is enough (a slow password KDF protects guessable
passwords, and would cost every PATCH a few dozen milliseconds).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import IntakeError
from .files import locked, private_dir, read_json, write_json

TOKEN_PREFIX = "pai"
CUSTOMER = "customer"
ENGINEER = "engineer"


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who a valid token belongs to: a customer number, or an engineer's name."""

    token_id: str
    kind: str
    customer: str | None = None
    engineer: str | None = None


class Registry:
    """Tokens and cases on disk; re-read whenever another process changed them."""

    def __init__(self, storage: Path) -> None:
        self._folder = storage / "auth"
        self._tokens = _CachedJson(self._folder / "tokens.json")
        self._cases = _CachedJson(self._folder / "cases.json")

    # -- tokens

    def add_token(self, *, customer: str | None = None, engineer: str | None = None) -> str:
        """Make a token, store its hash, and return the token (shown once)."""
        if (customer is None) == (engineer is None):
            raise IntakeError("give either --customer or --engineer")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        record = {
            "kind": CUSTOMER if customer else ENGINEER,
            "customer": customer,
            "engineer": engineer,
            "salt": salt.hex(),
            "sha256": _digest(salt, secret),
            "created": _now_iso(),
        }
        with self._update(self._tokens) as document:
            document.setdefault("tokens", {})[token_id] = record
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def revoke_token(self, token_id: str) -> None:
        with self._update(self._tokens) as document:
            if document.get("tokens", {}).pop(token_id, None) is None:
                raise IntakeError(f"no token with id {token_id!r}")

    def token_list(self) -> list[dict[str, Any]]:
        """Ids and owners only; the hashes stay on disk."""
        tokens: dict[str, dict[str, Any]] = self._tokens.load().get("tokens", {})
        return [
            {"id": token_id, "kind": r["kind"], "owner": r["customer"] or r["engineer"]}
            | {"created": r["created"]}
            for token_id, r in sorted(tokens.items())
        ]

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The owner of a `Bearer <token>` header, or None for anything else."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        prefix, _, rest = token.strip().partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or not secret:
            return None
        record = self._tokens.load().get("tokens", {}).get(token_id)
        if record is None:
            _digest(b"\0" * 16, secret)  # the same work whether or not the id exists
            return None
        expected = str(record["sha256"])
        if not hmac.compare_digest(_digest(bytes.fromhex(record["salt"]), secret), expected):
            return None
        return Principal(
            token_id=token_id,
            kind=record["kind"],
            customer=record.get("customer"),
            engineer=record.get("engineer"),
        )

    # -- cases

    def add_case(self, case: str, customer: str) -> bool:
        """Register a case for a customer; False when it already was."""
        with self._update(self._cases) as document:
            cases = document.setdefault("cases", {})
            owner = cases.get(case, {}).get("customer")
            if owner is not None and owner != customer:
                raise IntakeError(f"case {case} is registered to another customer ({owner})")
            if owner == customer:
                return False
            cases[case] = {"customer": customer, "added": _now_iso()}
        return True

    def case_owner(self, case: str) -> str | None:
        """The customer number a case is registered to, or None."""
        owner = self._cases.load().get("cases", {}).get(case, {}).get("customer")
        return str(owner) if owner is not None else None

    @contextmanager
    def _update(self, cache: _CachedJson) -> Iterator[dict[str, Any]]:
        """Read-modify-write of one registry file under the registry's lock."""
        private_dir(self._folder.parent)
        private_dir(self._folder)
        with locked(self._folder / ".lock"):
            document: dict[str, Any] = read_json(cache.path) or {}
            yield document
            write_json(cache.path, document)


class _CachedJson:
    """A JSON file re-read only when its identity, size or mtime changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._document: dict[str, Any] = {}

    def load(self) -> dict[str, Any]:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return {}
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        if stamp != self._stamp:
            self._document = read_json(self.path) or {}
            self._stamp = stamp
        return self._document


def _digest(salt: bytes, secret: str) -> str:
    return hashlib.sha256(salt + secret.encode()).hexdigest()


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
