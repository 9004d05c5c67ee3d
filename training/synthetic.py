"""A tiny synthetic ``imagefolder`` (images + metadata.csv) for tests, demos and benchmarks.

It has the London faces' metadata columns (``face_id, expression, age, gender, ethnicity``), an
extra ``<name>_file_name`` image column for paired data, and smooth coloured images whose content
depends on the row, so augmentations, splits and paired loading can be checked without real data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

COLUMNS = ("file_name", "sketch_file_name", "face_id", "expression", "age", "gender", "ethnicity")
_EXPRESSIONS = ("neutral", "smiling")
_GENDERS = ("female", "male")
_ETHNICITIES = ("white", "black", "east_asian", "west_asian", "east_asian/white")


def synthetic_image(index: int, size: int, seed: int = 0) -> np.ndarray:
    """An ``HxWx3`` uint8 image: a colour gradient plus a bright disc whose place depends on ``index``."""
    rng = np.random.default_rng(seed * 100_003 + index)
    y, x = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    base = rng.uniform(0.2, 0.8, size=3)
    image = np.stack([base[0] + 0.3 * x, base[1] + 0.3 * y, base[2] - 0.2 * x * y], axis=-1)
    cy, cx = rng.uniform(0.3, 0.7, size=2)
    image[(y - cy) ** 2 + (x - cx) ** 2 < 0.03] = 1.0
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def make_imagefolder(root: Path, num_images: int = 12, size: int = 40, seed: int = 0) -> Path:
    """Write ``num_images`` photos (two per ``face_id``), their inverted "sketches" and ``metadata.csv``."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "sketches").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(num_images):
        photo = synthetic_image(i, size, seed)
        Image.fromarray(photo).save(root / "images" / f"{i:03d}.png")
        Image.fromarray(255 - photo).save(root / "sketches" / f"{i:03d}.png")
        person = i // 2
        rows.append(
            {
                "file_name": f"images/{i:03d}.png",
                "sketch_file_name": f"sketches/{i:03d}.png",
                "face_id": f"{person:03d}",
                "expression": _EXPRESSIONS[i % 2],
                "age": "NA" if person % 5 == 4 else str(19 + 7 * (person % 4)),
                "gender": _GENDERS[person % 2],
                "ethnicity": _ETHNICITIES[person % len(_ETHNICITIES)],
            }
        )
    with (root / "metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return root


def make_side_by_side_folder(root: Path, num_images: int = 6, size: int = 32) -> Path:
    """``A|B`` images (left: red-tinted input, right: the photo), without metadata (plain folder)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(num_images):
        photo = synthetic_image(i, size)
        left = np.zeros_like(photo)
        left[..., 0] = 255
        Image.fromarray(np.concatenate([left, photo], axis=1)).save(root / f"{i:03d}.png")
    return root
