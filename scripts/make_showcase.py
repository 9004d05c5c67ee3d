"""Render docs/images/showcase.png (the README picture) from the bundled models, with fixed seeds.

    python scripts/make_showcase.py
"""

from __future__ import annotations

from pathlib import Path

import PIL.Image

from zoo import registry
from zoo.images import enlarge, image_grid

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "ui" / "examples"
COLS = 8
SCALE = 2


def main() -> None:
    rows: list[list[PIL.Image.Image]] = []
    # psi 1 for the FastGAN generator (its family default: truncation in z is unmeasured for it), 0.8 for the StyleGAN one.
    for name, psi in (("faces-fastgan-64", 1.0), ("faces-style-64", 0.8)):
        rows.append(registry.load_pipeline(name)(batch_size=COLS, seed=0, truncation_psi=psi).images)
    if registry.get_entry("faces-expression-64").available:  # seeds 0-3 neutral, then the same seeds smiling
        expression = registry.load_pipeline("faces-expression-64")
        rows.append([image for label in (0, 1) for image in
                     expression(batch_size=COLS // 2, seed=0, class_labels=label).images])
    sketches = sorted(EXAMPLES.glob("*.png"))[: COLS // 2]
    sketch_pipe = registry.load_pipeline("sketch2face-64")
    pairs = []
    for path in sketches:
        sketch = PIL.Image.open(path).convert("RGB")
        pairs += [sketch.resize((64, 64)), sketch_pipe(sketch).images[0].resize((64, 64))]
    rows.append(pairs)
    lines = (EXAMPLES / "prompts.txt").read_text().splitlines()
    prompts = [line for line in lines if line.strip() and not line.startswith("#")][: COLS // 2]
    text_pipe = registry.load_pipeline("text2face-64")
    rows.append(text_pipe(prompts, num_images_per_prompt=2, seed=0).images)
    cells = [enlarge(image, 64 * SCALE) for row in rows for image in row[:COLS]]
    out = ROOT / "docs" / "images" / "showcase.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    image_grid(cells, cols=COLS).save(out)
    print(out)


if __name__ == "__main__":
    main()
