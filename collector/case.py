"""The service request a bundle is for: case or PMR number, severity, and the
customer's problem description."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.errors import BadInput
from collector.schema import validate

CASE_PATTERN = re.compile(r"^TS\d{9}$")
PMR_PATTERN = re.compile(r"^(\d{5}),([0-9A-Za-z]{3}),(\d{3})$")

SEVERITIES = {
    1: "production down / no service",
    2: "major function broken or intermittent production outages",
    3: "fault with a workaround, or non-production",
    4: "question or enhancement",
}

# The problem description the support engineer asks for, in prompt order.
DESCRIPTION_FIELDS = {
    "frequency": "How often does it happen (once, daily, under load...)?",
    "trigger": "Which operation triggers it?",
    "steps_to_reproduce": "Steps to reproduce",
    "symptoms": "Symptoms (error messages, codes, what you see)",
}


@dataclass(frozen=True)
class Case:
    id: str | None = None
    kind: str = "none"  # "case", "pmr" or "none"
    severity: int | None = None
    description: dict[str, str] = field(default_factory=dict)

    @property
    def file_prefix(self) -> str:
        """The case part of a bundle name: TS012345678, 12345.678.672, or none."""
        if self.id is None:
            return ""
        return self.id.replace(",", ".")

    def as_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "description": dict(self.description),
        }


def make_case(
    case_number: str | None,
    pmr: str | None,
    severity: int | None,
    description: dict[str, str] | None = None,
) -> Case:
    if case_number and pmr:
        raise BadInput("give either --case or --pmr, not both")
    if case_number is not None:
        case_number = case_number.strip().upper()
        if not CASE_PATTERN.match(case_number):
            raise BadInput(
                f"bad case number {case_number!r}: expected TS followed by 9 digits, "
                "e.g. TS012345678"
            )
        kind, ident = "case", case_number
    elif pmr is not None:
        if not PMR_PATTERN.match(pmr.strip()):
            raise BadInput(
                f"bad PMR number {pmr!r}: expected xxxxx,bbb,ccc (PMR, branch, country), "
                "e.g. 12345,678,672"
            )
        kind, ident = "pmr", pmr.strip()
    else:
        kind, ident = "none", None
    if severity is not None and severity not in SEVERITIES:
        raise BadInput(f"bad severity {severity}: use 1, 2, 3 or 4")
    case = Case(ident, kind, severity, dict(description or {}))
    validate("case", case.as_document(), "case")
    return case


def read_description(path: Path) -> dict[str, str]:
    """A description file: TOML with the DESCRIPTION_FIELDS keys, or plain text."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise BadInput(f"cannot read description file {path}: {error.strerror}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # Free text is the common case; only a .toml file must be valid TOML.
        if path.suffix == ".toml":
            raise BadInput(f"description file {path} is not valid TOML") from None
        return {"text": text.strip()} if text.strip() else {}
    if not document:
        return {}
    unknown = sorted(set(document) - set(DESCRIPTION_FIELDS))
    if unknown:
        raise BadInput(
            f"description file {path}: unknown key {unknown[0]!r} "
            f"(expected {', '.join(DESCRIPTION_FIELDS)})"
        )
    return {k: str(v).strip() for k, v in document.items() if str(v).strip()}
