"""The app in a real browser: every tab renders, generates, and shows its pictures.

Run with ``pytest -m browser``. Uses Python Playwright driving the system's Debian Chromium
(``/usr/bin/chromium``); browsers are never downloaded. Screenshots of every tab are written to
``screenshots/`` so a person can check the layout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the app's `ui` package lives at the repo root

from ui.browser import choose_option, free_local_port, wait_for_image  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "screenshots"
TIMEOUT_MS = 60_000
CLASS_NAMES = ["neutral", "smiling", "surprised"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install chromium); playwright's own browsers are never downloaded"),
]
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    from tiny import save_tiny_checkpoint

    from ui import build_demo, launch_options

    root = tmp_path_factory.mktemp("browser_models")
    models = [str(save_tiny_checkpoint(family, root / f"tiny-{family}"))
              for family in ("dcgan", "stylegan", "pix2pix", "textgan")]
    named = save_tiny_checkpoint("dcgan", root / "tiny-expressions", num_classes=len(CLASS_NAMES))
    (named / "training_summary.json").write_text(json.dumps({"family": "dcgan", "class_names": CLASS_NAMES}))
    models.append(str(named))
    card_dir = Path(models[1])
    (card_dir / "samples").mkdir()
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 120, 80)).save(card_dir / "samples" / "final_grid.png")
    (card_dir / "README.md").write_text("---\nlicense: mit\n---\n# Tiny StyleGAN\n\nA random test model.\n\n"
                                        "![grid](samples/final_grid.png)\n")
    demo = build_demo(models=models, include_bundled=False)
    port = free_local_port()
    demo.launch(**launch_options(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True))
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def page(app_url: str):
    SCREENSHOTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.outside_requests = []  # type: ignore[attr-defined]
        page.on("request", lambda request: _record_outside(page, request.url))
        page.goto(app_url)
        page.wait_for_selector("#faces-generate")
        yield page
        browser.close()


def _record_outside(page, url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in ("127.0.0.1", "localhost"):
        page.outside_requests.append(url)


def _open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _close_toasts(page) -> None:
    """Dismiss error toasts so they do not cover the next screenshot."""
    for button in page.locator(".toast-close").all():
        if button.is_visible():
            button.click()


def _shot(page, name: str) -> None:
    page.wait_for_timeout(500)  # let transitions settle
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_faces_tab(page) -> None:
    _open_tab(page, "Faces from noise")
    page.click("#faces-generate")
    wait_for_image(page, "#faces-gallery img")
    assert page.locator("#faces-gallery img").count() == 8
    assert page.get_by_text("native resolution").first.is_visible()
    _shot(page, "1_faces")


def test_faces_tab_class_picker(page) -> None:
    """A class-conditional model shows its class names; "All classes" draws one row per class."""
    _open_tab(page, "Faces from noise")
    assert not page.locator("#faces-class").is_visible()  # the default model has no classes
    choose_option(page, "#faces-model", "tiny-expressions")
    page.locator("#faces-class").wait_for(state="visible")
    choose_option(page, "#faces-class", "All classes (one row each)")
    page.click("#faces-generate")
    page.get_by_text("surprised · seed 42").first.wait_for(state="visible")
    assert page.locator("#faces-gallery img").count() == 8 * len(CLASS_NAMES)
    _shot(page, "1b_faces_all_classes")
    choose_option(page, "#faces-class", "smiling")
    page.click("#faces-generate")
    page.wait_for_function("() => document.querySelectorAll('#faces-gallery img').length === 8")
    assert page.get_by_text("smiling · seed 42").count() == 0  # one class: captions are seeds only
    choose_option(page, "#faces-model", "tiny-dcgan")  # back to the unconditional model: no picker
    page.locator("#faces-class").wait_for(state="hidden")


def test_sketch_tab_draw_with_the_mouse(page) -> None:
    _open_tab(page, "Sketch to photo")
    page.click("#sketch-generate")  # nothing drawn yet: a readable error, not a crash
    page.get_by_text("The sketch canvas is empty").first.wait_for(state="visible")
    _close_toasts(page)
    canvas = page.locator("#sketchpad canvas").first
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.3, y + h * 0.3)
    page.mouse.down()
    for i in range(1, 21):  # an oval-ish stroke: a face outline
        page.mouse.move(x + w * (0.3 + 0.4 * i / 20), y + h * (0.3 + 0.4 * (i / 20) ** 2), steps=2)
    page.mouse.up()
    # Live: the photo appears for the stroke without pressing the button.
    wait_for_image(page, "#sketch-photo img")
    wait_for_image(page, "#sketch-seen img")
    first = page.locator("#sketch-photo img").get_attribute("src")
    page.mouse.move(x + w * 0.4, y + h * 0.75)  # a mouth: the photo follows the next stroke too
    page.mouse.down()
    page.mouse.move(x + w * 0.6, y + h * 0.75, steps=10)
    page.mouse.up()
    page.wait_for_function("(first) => { const img = document.querySelector('#sketch-photo img');"
                           " return img && img.src !== first && img.complete && img.naturalWidth > 0; }", arg=first)
    _shot(page, "2_sketch")


def test_sketch_tab_upload_an_example(page) -> None:
    _open_tab(page, "Sketch to photo")
    page.get_by_role("tab", name="Upload").click()
    examples = page.locator("#sketch-examples button.gallery-item")
    if examples.count() == 0:
        pytest.skip("no example sketches in ui/examples (run scripts/make_app_examples.py)")
    before = page.locator("#sketch-photo img").get_attribute("src")
    examples.first.click()
    wait_for_image(page, "#sketch-upload img")
    page.click("#sketch-generate")
    page.wait_for_function("(before) => { const img = document.querySelector('#sketch-photo img');"
                           " return img && img.src !== before && img.complete && img.naturalWidth > 0; }", arg=before)
    _shot(page, "2b_sketch_upload")


def test_text_tab(page) -> None:
    _open_tab(page, "Text to image")
    example = page.locator("#prompt-examples button.gallery-item").nth(1)
    example.click()  # an example fills the prompt box (the update arrives from the server: wait for it)
    playwright_api.expect(page.locator("#prompt textarea")).to_have_value(example.inner_text().strip())
    page.locator("#prompt textarea").fill("a smiling woman in her twenties")
    page.click("#text-generate")
    wait_for_image(page, "#text-gallery img")
    assert page.locator("#text-gallery img").count() == 4
    assert page.get_by_text("a smiling woman in her twenties · seed 0").first.is_visible()
    _shot(page, "3_text")


def test_interpolation_tab_and_style_mixing(page) -> None:
    _open_tab(page, "Latent interpolation")
    page.click("#interp-generate")
    wait_for_image(page, "#interp-gallery img")
    wait_for_image(page, "#interp-gif img")
    wait_for_image(page, "#interp-video video")
    page.click("#mix-generate")
    wait_for_image(page, "#mix-gallery img")
    assert page.locator("#mix-gallery img").count() == 3
    _shot(page, "4_interpolation")


def test_your_face_tab_upload_a_photo(page) -> None:
    _open_tab(page, "Your face")
    photo = ROOT / "data" / "london_faces" / "images" / "101_neutral.jpg"
    page.locator("#face-upload input[type=file]").set_input_files(str(photo))
    wait_for_image(page, "#face-upload img")
    page.click("#face-find")
    wait_for_image(page, "#face-reconstruction img")
    wait_for_image(page, "#face-target img")
    page.click("#face-morph")
    wait_for_image(page, "#face-gif img")
    _shot(page, "6_your_face")


def test_models_tab(page) -> None:
    _open_tab(page, "Models")
    page.locator("#models-model input").click()
    page.get_by_role("option", name="tiny-stylegan").click()
    page.locator("#model-card").get_by_text("Tiny StyleGAN").wait_for(state="visible")
    assert "license: mit" not in page.locator("#model-card").inner_text()
    wait_for_image(page, "#model-grid img")
    _shot(page, "5_models")


def test_nothing_was_fetched_from_outside(page) -> None:
    assert page.outside_requests == []
