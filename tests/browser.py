"""The browser tests' Chromium (:mod:`experiments.viewer.headless`): one headless browser per test module,
skipped with the reason without chromium, chromedriver or selenium (``.ci/run`` installs them)."""

from __future__ import annotations

import pytest

from experiments.viewer.headless import close, find_browser, launch, wait_for  # noqa: F401 - wait_for re-exported


def chromium():
    """A generator for a module-scoped fixture: ``yield from chromium()``."""
    found = find_browser()
    if isinstance(found, str):
        pytest.skip(found)
    driver, profile = launch(*found)
    try:
        yield driver
    finally:
        close(driver, profile)


def console_errors(driver) -> list[str]:
    """The browser console's SEVERE entries since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
