"""Write the SHA-256 of a few fixed outputs of every bundled model to tests/data/bundled_outputs.json.

Why: a refactor must not change what the bundled models draw. ``tests/test_bundled_models.py``
recomputes these digests and fails on any difference, so code moves are proven pixel-neutral.
Re-run this script (and say why in the commit) only when a bundled model's weights change:

    python scripts/pin_bundled_outputs.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "tests" / "data" / "bundled_outputs.json"


def fixed_outputs(name: str) -> np.ndarray:
    """Uint8 images every bundled model must reproduce exactly: seeds 0-1, one prompt, one drawing."""
    from zoo import registry
    from zoo.pipelines import GANSamplingPipeline, Sketch2PhotoPipeline

    pipe = registry.load_pipeline(name)
    if isinstance(pipe, GANSamplingPipeline):
        labels = [0, 1] if pipe.generator.config.num_classes else None  # one image per class
        images = pipe(batch_size=2, seed=0, truncation_psi=0.7, class_labels=labels, output_type="np").images
    elif isinstance(pipe, Sketch2PhotoPipeline):
        from PIL import Image

        drawing = Image.open(ROOT / "ui" / "examples" / "drawing_003.png").convert("RGB")
        images = pipe([pipe.sketch_of(np.asarray(drawing))], output_type="np").images
    else:
        images = pipe("a smiling woman in her twenties, white", num_images_per_prompt=2, seed=0, output_type="np").images
    return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)


def digest(name: str) -> str:
    return hashlib.sha256(fixed_outputs(name).tobytes()).hexdigest()


def main() -> None:
    from zoo import registry

    names = [e.name for e in registry.list_models(available_only=True) if e.is_bundled]
    OUT.write_text(json.dumps({name: digest(name) for name in names}, indent=2) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
