"""The viewer (``python -m experiments.viewer``) in a real browser: headless Chromium through Selenium.

One tiny sweep (frame-wise + HyperCon on a synthetic video, ``save_error_maps=true``) and one browser for
the module. ``HYPERCON_DOCS_SCREENSHOT=1`` also writes docs/viewer.md's screenshot (docs/viewer.png)."""

from __future__ import annotations

import io
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from PIL import Image

import experiments.hydra_setup  # noqa: F401
from browser import chromium, console_errors, wait_for
from experiments.runner import run
from experiments.viewer import build_site
from experiments.viewer.__main__ import main as viewer_main

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=1", "dataset.num_frames=6", "dataset.height=72", "dataset.width=96", "save_video=false",
        "save_error_maps=true", "metrics.names=[ewarp]"]
SMALL = {"framewise": [], "hypercon": ["method.num_inserted=1", "method.window=3"]}
PANELS = "[...document.querySelectorAll('[data-panel] canvas')]"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("viewer")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        for method, small in SMALL.items():
            cfg = compose(config_name="config", overrides=[*TINY, f"method={method}", *small,
                                                           f"paths.output_root={root}"])
            run(cfg, root / "sweep" / method)
    assert viewer_main([str(root / "sweep"), "--out", str(root / "site")]) == 0
    return root


@pytest.fixture(scope="module")
def driver(site):
    yield from chromium()


def video_page(site: Path) -> Path:
    return next((site / "site").glob("*/*/*/index.html"))


def open_video(driver, site: Path) -> None:
    driver.get(video_page(site).as_uri())
    wait_for(driver, "document.body.dataset.loaded === '1' && document.body.dataset.frame === '0'")


def frames_shown(driver) -> list[int]:
    return driver.execute_script(f"return [...{PANELS}, document.getElementById('wipe'), "
                                 "document.getElementById('curve')].map(c => Number(c.dataset.frame))")


def png(element) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB")).astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def test_pages_load_without_console_error(driver, site, capsys):
    home = site / "site" / "index.html"
    driver.get(home.as_uri())
    driver.find_element("css selector", "ul.pages a").click()
    assert "synthetic" in driver.title and len(driver.find_elements("css selector", "table.index td a")) == 1
    open_video(driver, site)
    panels = driver.execute_script(f"return {PANELS}.map(c => c.parentElement.dataset.panel)")
    assert panels == ["src", "p1", "p2"]  # the saved inputs (synthetic data) as source, then both methods
    assert console_errors(driver) == []


def test_play_then_pause_shows_one_frame_everywhere(driver, site):
    open_video(driver, site)
    driver.find_element("id", "play").click()
    wait_for(driver, "Number(document.body.dataset.frame) >= 2")
    driver.find_element("tag name", "body").send_keys(" ")  # space pauses
    time.sleep(0.15)
    shown = frames_shown(driver)
    assert len(set(shown)) == 1, shown  # (6 frames at 24 fps loop every 0.25 s: any index, but one)
    assert shown[0] == driver.execute_script("return window.hyperconViewer.state.frame")
    assert driver.execute_script("return window.hyperconViewer.state.playing") is False


def test_right_arrow_advances_every_panel_by_one(driver, site):
    open_video(driver, site)
    body = driver.find_element("tag name", "body")
    for expected in (1, 2, 3):
        body.send_keys("\ue014")  # →
        assert frames_shown(driver) == [expected] * 5
    body.send_keys("\ue012")  # ←
    assert frames_shown(driver) == [2] * 5


def test_wipe_and_magnifier_move_together(driver, site):
    """The magnifier follows the pointer on ANY canvas and shows the same region everywhere: with the wipe
    fully on HyperCon, the wipe canvas (lens included) is pixel for pixel HyperCon's panel."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    open_video(driver, site)
    canvases = driver.execute_script(f"return {PANELS}")
    ActionChains(driver).move_to_element_with_offset(canvases[1], -20, -10).click().perform()  # turns it on
    wipe = driver.find_element("id", "wipe")
    ActionChains(driver).move_to_element_with_offset(wipe, 15, 12).perform()
    mags = driver.execute_script(f"return [...{PANELS}, document.getElementById('wipe')].map(c => c.dataset.mag)")
    x, y = (float(v) for v in mags[0].split(","))
    assert len(set(mags)) == 1 and x > 0.6 and y > 0.6, mags
    Select(driver.find_element("id", "wipe-a")).select_by_index(2)
    driver.execute_script("const s = document.getElementById('wipe-pos'); s.value = '1000';"
                          "s.dispatchEvent(new Event('input'))")
    assert wipe.get_attribute("data-wipe") == "1.000" and wipe.get_attribute("data-a") == "p2"
    width = int(wipe.get_attribute("width"))
    assert psnr(png(wipe)[:, : width - 2], png(canvases[2])[:, : width - 2]) == math.inf
    driver.find_element("tag name", "body").send_keys("m")
    assert driver.execute_script(f"return {PANELS}.every(c => c.dataset.mag === '')")


def test_flicker_view_and_focus_keys(driver, site):
    open_video(driver, site)
    body = driver.find_element("tag name", "body")
    body.send_keys("f")
    wait_for(driver, f"{PANELS}.filter(c => c.dataset.view === 'error').length === 2")
    assert driver.execute_script(f"return {PANELS}.map(c => c.dataset.view)") == ["frames", "error", "error"]
    body.send_keys("3")
    assert driver.execute_script("return [...document.querySelectorAll('.panel.focused')].map(e => e.dataset.panel)") \
        == ["p2"]
    if os.environ.get("HYPERCON_DOCS_SCREENSHOT"):  # docs/viewer.md's picture, from this run
        body.send_keys("0")
        driver.find_element("id", "magnifier").click()
        body.send_keys("\ue014")
        shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB").crop((0, 0, 1000, 820))
        (REPO / "docs").mkdir(exist_ok=True)
        shot.quantize(colors=128).save(REPO / "docs" / "viewer.png", optimize=True)
    body.send_keys("f")
    assert console_errors(driver) == []


def test_panel_screenshot_matches_the_saved_frame(driver, site):
    open_video(driver, site)
    body = driver.find_element("tag name", "body")
    for _ in range(3):
        body.send_keys("\ue014")
    panel = driver.execute_script(f"return {PANELS}")[2]  # HyperCon, drawn 1:1 (frames smaller than --max-side)
    saved = np.asarray(Image.open(site / "sweep" / "hypercon" / "videos" / "synth-000" / "frames" / "00003.png")
                       .convert("RGB")).astype(np.float64)
    shot = png(panel)
    assert shot.shape == saved.shape
    assert psnr(shot, saved) > 30.0


def test_site_size_options_and_bad_folder(site, tmp_path, capsys):
    small = build_site([site / "sweep"], tmp_path / "small", quality=40, max_side=48)
    first = next((tmp_path / "small").glob("*/*/*/p1/00000.jpg"))
    assert Image.open(first).size == (48, 36)
    big = sum(p.stat().st_size for p in (site / "site").rglob("*") if p.is_file())
    assert small.total_bytes == sum(p.stat().st_size for p in (tmp_path / "small").rglob("*") if p.is_file())
    assert small.total_bytes < big
    assert viewer_main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_report_links_rows_to_the_viewer(site, capsys):
    import re

    from experiments.report import main as report_main

    assert report_main([str(site / "sweep"), "--viewer", "--out", str(site / "report")]) == 0
    md = (site / "report" / "table1.md").read_text()
    links = re.findall(r"\| \[([^]]+)\]\((viewer/[^)#]+)#([^)]+)\)", md)
    assert len(links) == 2, md
    for label, page, anchor in links:
        html = (site / "report" / page).read_text()
        assert f'id="{anchor}"' in html and label in html


def test_source_from_the_named_dataset_or_omitted_with_a_note(site, tmp_path):
    """Without saved inputs the source panel is read with the CURRENT config of the dataset named on the
    command line (issue 26: a run's recorded config is never instantiated); without one, the page omits the
    panel and says how to get it."""
    import shutil

    from experiments.viewer.source import dataset_config

    run_dir = tmp_path / "runs" / "framewise"
    shutil.copytree(site / "sweep" / "framewise", run_dir)
    shutil.rmtree(run_dir / "inputs")
    named = dataset_config("synthetic", [t.removeprefix("dataset.") for t in TINY if t.startswith("dataset.")])
    build_site([run_dir], tmp_path / "from_dataset", dataset=named)
    page = next((tmp_path / "from_dataset").glob("*/*/*/"))
    saved = np.asarray(Image.open(site / "sweep" / "framewise" / "inputs" / "synth-000" / "frames" / "00002.png"))
    shown = np.asarray(Image.open(page / "src" / "00002.jpg")).astype(np.float64)
    assert psnr(shown, saved.astype(np.float64)) > 30.0  # the synthetic dataset, regenerated from its config
    build_site([run_dir], tmp_path / "omitted")
    html = next((tmp_path / "omitted").glob("*/*/*/index.html")).read_text()
    assert 'data-panel="src"' not in html and "source omitted" in html and "--dataset synthetic" in html
