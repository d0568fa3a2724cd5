"""Headless Chromium through Selenium, to check a built site (the browser tests, ``benchmarks/bench_viewer.py``).

Needs Debian's ``chromium`` + ``chromium-driver`` and the ``selenium`` package (the ``test`` extra). Chromium
starts with a fresh temporary profile and with every background network feature off: on a closed network
it otherwise waits for them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000", "--force-device-scale-factor=1")


def find_browser() -> tuple[str, str] | str:
    """``(chromium binary, chromedriver)``, or the reason they cannot be used."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    binary = next((shutil.which(n) for n in BROWSERS if shutil.which(n)), None)
    driver = shutil.which("chromedriver") or ("/usr/lib/chromium/chromedriver"
                                              if Path("/usr/lib/chromium/chromedriver").is_file() else None)
    if binary is None or driver is None:
        return "chromium / chromedriver not found (apt-get install chromium chromium-driver)"
    return binary, driver


def launch(binary: str, driver_path: str):
    """``(driver, profile folder)``: a headless Chromium with a fresh profile; :func:`close` ends both."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="hc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path, log_output=os.devnull))
    driver.set_page_load_timeout(120)
    return driver, profile


def close(driver, profile: str) -> None:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script: str, timeout: float = 20.0):
    """Poll the JavaScript expression ``script`` until it is truthy; returns its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: d.execute_script(f"return {script}"))


LOAD_TIMES = """const nav = performance.getEntriesByType('navigation')[0];
return {dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_event_ms: nav.loadEventEnd,
        images: (() => { const d = JSON.parse(document.getElementById('viewer-data').textContent);
                          return d.frames * d.panels.length; })(),
        heap_mb: performance.memory ? performance.memory.usedJSHeapSize / 1e6 : null};"""


def page_load_times(driver, url: str, timeout: float = 120.0) -> dict:
    """Open a viewer page and time it: Navigation Timing's DOMContentLoaded and load event (ms after the start
    of navigation; ``load`` waits for every preloaded frame) and until the viewer drew frame 0 with every
    image decoded (``all_frames_ms``)."""
    import time

    t0 = time.perf_counter()
    driver.get(url)
    wait_for(driver, "document.body.dataset.loaded === '1' && document.body.dataset.frame === '0'", timeout)
    out = driver.execute_script(LOAD_TIMES)
    out["all_frames_ms"] = (time.perf_counter() - t0) * 1000
    return out
