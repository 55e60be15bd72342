"""The one place where any exception is caught.

Plugins are third-party code: loading one, asking it for specs, running its fact
functions or parsers may raise anything. One misbehaving plugin must never stop
a collection, so those calls (and only those) go through `guarded`, which turns
any exception into a recorded error string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def guarded(call: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run plugin code; return (result, None) or (None, "ExceptionType: message")."""
    try:
        return call(), None
    except Exception as error:  # the plugin boundary: see the module docstring
        return None, f"{type(error).__name__}: {error}"
