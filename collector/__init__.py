"""pa-collect: stage-two diagnostic bundles for IBM Passport Advantage products."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pa-collect")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
