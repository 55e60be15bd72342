"""What a case, a customer, a contract, a bundle name and an upload id look like.

Every name that becomes part of a path on disk is checked here first.
"""

from __future__ import annotations

import re

from collector.case import CASE_PATTERN, PMR_PATTERN

from .errors import IntakeError

CUSTOMER_PATTERN = re.compile(r"^[0-9]{5,10}$")  # as schemas/profile.schema.json
CONTRACT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,29}$")
FILENAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._,+-]{0,199}$")
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
UPLOAD_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
ENGINEER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def normalize_case(text: str) -> str:
    """TS012345678, or a PMR as 12345,678,672 (12345.678.672 is accepted too)."""
    value = text.strip()
    if CASE_PATTERN.match(value.upper()):
        return value.upper()
    pmr = value.replace(".", ",")
    if PMR_PATTERN.match(pmr):
        return pmr
    raise IntakeError(
        f"bad case number {text!r}: expected TS followed by 9 digits (TS012345678) "
        "or a PMR number 12345,678,672"
    )


def check_customer(text: str) -> str:
    if not CUSTOMER_PATTERN.match(text):
        raise IntakeError(f"bad customer number {text!r}: expected 5 to 10 digits")
    return text


def check_engineer(text: str) -> str:
    if not ENGINEER_PATTERN.match(text):
        raise IntakeError(f"bad engineer name {text!r}: letters, digits and ._@- only")
    return text


def check_filename(text: str) -> str:
    """A plain file name: no folders, no leading dot, nothing a shell or path misreads."""
    if not FILENAME_PATTERN.match(text) or ".." in text:
        raise IntakeError(f"bad bundle file name {text!r}")
    return text
