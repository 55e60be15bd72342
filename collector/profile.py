"""The customer card: who the bundle belongs to.

Kept as a small TOML file, found by a fixed lookup order, validated against
schemas/profile.schema.json, and written with mode 0600 because it holds
personal contact details.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from collector.errors import BadInput
from collector.host import Host
from collector.schema import validate

PROFILE_ENV = "PA_COLLECT_PROFILE"
UPLOAD_KEYS = (
    "upload_url",
    "sftp_host",
    "sftp_port",
    "sftp_user",
    "sftp_path",
    "sftp_known_hosts",
    "sftp_fingerprint",
    "sftp_key_file",
)
PROFILE_FILE = "profile.toml"


@dataclass(frozen=True)
class Profile:
    customer_number: str = ""
    contract_number: str = ""
    contact_name: str = ""
    email: str = ""
    phone: str = ""
    company: str = ""
    service_start: str = ""
    service_end: str = ""
    products: tuple[str, ...] = field(default_factory=tuple)
    # Where --upload sends bundles (upload_url, sftp_*): the tool's settings,
    # kept on the card for convenience but never part of a manifest.
    upload: Mapping[str, Any] = field(default_factory=dict)

    def as_document(self) -> dict[str, Any]:
        """The card in the schema's shape, only the fields that are set (without
        the upload settings: this is what a manifest's customer section holds)."""
        document = {k: v for k, v in asdict(self).items() if k != "upload" and v not in ("", ())}
        if "products" in document:
            document["products"] = list(document["products"])
        return document

    def service_dates(self) -> tuple[date | None, date | None]:
        return _iso_date(self.service_start), _iso_date(self.service_end)


# Labels for prompts and for `profile show`, in card order.
FIELD_LABELS = {
    "customer_number": "IBM customer number",
    "contract_number": "Passport Advantage contract number",
    "contact_name": "Contact name",
    "email": "Registered e-mail",
    "phone": "Phone",
    "company": "Company",
    "service_start": "Service start date (YYYY-MM-DD)",
    "service_end": "Service end date (YYYY-MM-DD)",
    "products": "Entitled products (comma-separated, e.g. db2,mq)",
}


def profile_candidates(host: Host, explicit: Path | None) -> list[tuple[Path, str]]:
    """Where a profile may be, in lookup order, each with how it was chosen."""
    if explicit is not None:
        return [(explicit, "--profile")]
    candidates = []
    if host.env.get(PROFILE_ENV):
        candidates.append((Path(host.env[PROFILE_ENV]), f"${PROFILE_ENV}"))
    candidates.append((host.config_dir / PROFILE_FILE, "user config"))
    candidates.append((host.system_config_dir / PROFILE_FILE, "system config"))
    return candidates


def find_profile(host: Host, explicit: Path | None = None) -> tuple[Profile, Path | None]:
    """The first profile in lookup order; an empty one when there is none.

    An explicitly named file (option or environment) must exist and be valid.
    """
    for path, how in profile_candidates(host, explicit):
        named = how != "user config" and how != "system config"
        if path.is_file() or named:
            return load_profile(path), path
    return Profile(), None


def load_profile(path: Path) -> Profile:
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError:
        raise BadInput(f"profile {path} does not exist (run: pa-collect profile init)") from None
    except OSError as error:
        raise BadInput(f"cannot read profile {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"profile {path} is not valid TOML: {error}") from None
    return profile_from_document(document, str(path))


def profile_from_document(document: dict[str, Any], where: str) -> Profile:
    # TOML may hold real dates; the card keeps ISO strings. Empty means unset.
    document = {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in document.items()
        if v not in ("", [], ())
    }
    validate("profile", document, f"profile {where}")
    start, end = (
        _iso_date(document.get("service_start", "")),
        _iso_date(document.get("service_end", "")),
    )
    if start and end and end < start:
        raise BadInput(f"profile {where}: service_end {end} is before service_start {start}")
    card = {k: v for k, v in document.items() if k not in UPLOAD_KEYS}
    card["products"] = tuple(card.get("products", ()))
    return Profile(**card, upload={k: v for k, v in document.items() if k in UPLOAD_KEYS})


def _iso_date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"bad date {text!r}: use YYYY-MM-DD") from None


def write_profile(profile: Profile, path: Path) -> None:
    """Write the card as TOML, mode 0600, replacing any earlier one atomically."""
    profile_from_document(profile.as_document(), str(path))  # validate before writing
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkstemp: a new file, mode 0600, whatever was left beside it before.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(to_toml(profile))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def to_toml(profile: Profile) -> str:
    lines = ["# pa-collect customer card (PA contact card)"]
    for f in fields(Profile):
        value = getattr(profile, f.name)
        if not value or f.name == "upload":
            continue
        if f.name == "products":
            lines.append(f"products = [{', '.join(_toml_string(p) for p in value)}]")
        else:
            lines.append(f"{f.name} = {_toml_string(value)}")
    for key, value in profile.upload.items():
        lines.append(f"{key} = {value if isinstance(value, int) else _toml_string(str(value))}")
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def with_overrides(profile: Profile, **overrides: str | None) -> Profile:
    """Command-line values win over the card's; validated like the card."""
    document = {**profile.as_document(), **profile.upload}
    document.update({k: v for k, v in overrides.items() if v})
    return profile_from_document(document, "(with command-line overrides)")
