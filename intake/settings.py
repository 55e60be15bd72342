"""The server's limits and where it keeps its state, parsed from the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import IntakeError

SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, kw_only=True)
class Settings:
    storage: Path
    max_size: int = 10 * 1024**3
    max_concurrent: int = 4
    expire_after: float = 24 * 3600.0
    # One read of the request body may wait this long before the PATCH gives up.
    read_timeout: float = 60.0
    # A PATCH waits this long for another request on the same upload to finish.
    lock_timeout: float = 10.0

    @property
    def sweep_interval(self) -> float:
        """Often enough that an upload outlives its expiry by a fraction of it."""
        return min(max(self.expire_after / 4, 0.2), 60.0)


def parse_size(text: str) -> int:
    """A byte size: 1048576, 512K, 25M, 10G."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)i?b?\s*", text, re.IGNORECASE)
    if not match:
        raise IntakeError(f"{text!r} is not a size such as 512K, 25M or 10G")
    return int(match.group(1)) * SIZE_UNITS[match.group(2).lower()]


def parse_duration(text: str) -> float:
    """A duration: 90 (seconds), 1s, 30m, 24h, 7d; fractions allowed (0.5s)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text, re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise IntakeError(f"{text!r} is not a duration such as 1s, 30m, 24h or 7d")
    return float(match.group(1)) * DURATION_UNITS[match.group(2).lower()]
