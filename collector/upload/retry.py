"""When to try again: exponential backoff with full jitter.

Both transports sort every failure into two kinds: `Transient` (the network, a
timeout, a busy or restarting server) is retried after a growing random pause;
anything else is an UploadFailed that names what the user must fix. The count
of failures resets whenever bytes get through, so a long upload over a flaky
line keeps going as long as it makes progress.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from collector.errors import UploadFailed

log = logging.getLogger(__name__)
T = TypeVar("T")


class Transient(Exception):
    """A failure worth retrying: connection, timeout, 5xx, 409, 460, a dropped SSH link."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """`attempts` consecutive failures without progress end the upload.

    The pause before retry n is uniform in [0, min(cap, base * 2**(n-1))]
    ("full jitter"), so many agents cut off by the same outage do not come back
    in step; a server's Retry-After is honoured up to `cap`.
    """

    attempts: int = 10
    base: float = 1.0
    cap: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** max(failures - 1, 0))
        pause = self.jitter() * ceiling
        if retry_after is not None:
            pause = max(pause, min(retry_after, self.cap))
        return pause


class Backoff:
    """Counts consecutive failures of one upload and sleeps between them."""

    def __init__(self, policy: RetryPolicy, what: str) -> None:
        self.policy = policy
        self.what = what
        self.failures = 0

    def failed(self, error: Transient) -> None:
        """Sleep before the next try, or raise UploadFailed when out of attempts."""
        self.failures += 1
        if self.failures >= self.policy.attempts:
            raise UploadFailed(
                f"{self.what} failed {self.failures} times in a row (last: {error}); "
                "the bundle is kept and the same command resumes the upload"
            )
        pause = self.policy.delay(self.failures, error.retry_after)
        log.warning(
            "%s: %s; retrying in %.1f s (%d/%d)",
            self.what,
            error,
            pause,
            self.failures,
            self.policy.attempts - 1,
        )
        self.policy.sleep(pause)

    def succeeded(self) -> None:
        self.failures = 0

    def call(self, action: Callable[[], T]) -> T:
        """Run `action`, retrying it on Transient."""
        while True:
            try:
                result = action()
            except Transient as error:
                self.failed(error)
            else:
                self.succeeded()
                return result
