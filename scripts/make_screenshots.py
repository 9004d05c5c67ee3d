"""Screenshots of the app on the bundled models, for the README: one per tab, taken in Chromium.

    bash scripts/setup.sh --browser && .venv/bin/python scripts/make_screenshots.py

Starts the app in this process (bundled models only, offline), drives Debian's Chromium with
Playwright the way a visitor would (generates faces, draws a face with the mouse, types a prompt,
uploads a held-out person's photo) and saves each tab's panel to
``docs/images/app_<tab>.png``. The browser tests (``pytest -m browser``) check the same
interactions on tiny random models; this script only takes pictures of the real ones.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
#: A held-out person of the bundled models' split (never trained on); see ``bench/inversion_quality.py``.
HELD_OUT_PHOTO = ROOT / "data" / "london_faces" / "images" / "101_neutral.jpg"


def _panel(page, out: Path) -> Path:
    page.wait_for_timeout(600)  # let transitions settle
    page.locator("div[role=tabpanel]:visible").first.screenshot(path=str(out))
    return out


def _stroke(page, box: dict, points: list[tuple[float, float]]) -> None:
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * points[0][0], y + h * points[0][1])
    page.mouse.down()
    for px, py in points[1:]:
        page.mouse.move(x + w * px, y + h * py, steps=3)
    page.mouse.up()


def _face_drawing(page, box: dict) -> None:
    """A face as a visitor draws it: an oval, two eyes, a nose and a smile."""
    import math

    oval = [(0.5 + 0.26 * math.sin(t / 24 * 2 * math.pi), 0.47 - 0.34 * math.cos(t / 24 * 2 * math.pi)) for t in range(25)]
    _stroke(page, box, oval)
    for cx in (0.41, 0.59):
        _stroke(page, box, [(cx - 0.05, 0.40), (cx, 0.38), (cx + 0.05, 0.40)])
    _stroke(page, box, [(0.5, 0.44), (0.48, 0.55), (0.52, 0.56)])
    _stroke(page, box, [(0.41, 0.64), (0.5, 0.68), (0.59, 0.64)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from ui import build_demo, launch_options
    from ui.browser import choose_option, free_local_port, wait_for_image

    demo = build_demo(include_bundled=True)
    port = free_local_port()
    demo.launch(**launch_options(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True))
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(180_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#faces-generate")

            choose_option(page, "#faces-model", "faces-style-64")
            page.locator("#faces-generate").click()
            page.get_by_text("seed 49").first.wait_for(state="visible")
            wait_for_image(page, "#faces-gallery img")
            written.append(_panel(page, args.out / "app_faces.png"))

            page.get_by_role("tab", name="Sketch to photo").click()
            canvas = page.locator("#sketchpad canvas").first
            canvas.wait_for(state="visible")
            _face_drawing(page, canvas.bounding_box())
            wait_for_image(page, "#sketch-photo img")
            page.wait_for_timeout(1500)  # the live update of the last stroke
            written.append(_panel(page, args.out / "app_sketch.png"))

            page.get_by_role("tab", name="Text to image").click()
            page.locator("#prompt textarea").fill("a smiling young woman with long dark hair")
            page.locator("#text-generate").click()
            wait_for_image(page, "#text-gallery img")
            written.append(_panel(page, args.out / "app_text.png"))

            page.get_by_role("tab", name="Latent interpolation").click()
            page.locator("#interp-generate").click()
            wait_for_image(page, "#interp-gallery img")
            page.locator("#mix-generate").click()
            wait_for_image(page, "#mix-gallery img")
            written.append(_panel(page, args.out / "app_interpolation.png"))

            page.get_by_role("tab", name="Your face").click()
            page.locator("#face-upload input[type=file]").set_input_files(str(HELD_OUT_PHOTO))
            wait_for_image(page, "#face-upload img")
            page.locator("#face-find").click()
            wait_for_image(page, "#face-reconstruction img")
            page.locator("#face-morph").click()
            wait_for_image(page, "#face-gif img")
            written.append(_panel(page, args.out / "app_your_face.png"))
            browser.close()
    finally:
        demo.close()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
