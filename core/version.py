"""The release this code is, as installed (`tongjian --version`, backup manifests)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def installed_version() -> str:
    try:
        return version("tongjian")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
