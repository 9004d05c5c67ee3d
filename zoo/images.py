"""Picture helpers shared by the CLI, the pipelines, the app and the scripts: grids and honest enlarging.

Written once so that a batch saved by ``python -m zoo``, downloaded from the app or rendered for
the README is laid out the same way, and a tiny 64 px face is enlarged the same way everywhere.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import PIL.Image


def image_grid(
    images: Sequence[PIL.Image.Image], cols: Optional[int] = None, pad: int = 0, background: str = "white"
) -> PIL.Image.Image:
    """``images`` row by row in ``cols`` columns (near-square by default), ``pad`` px gutters between cells.

    Every cell has the size of the first image; cells left empty in the last row, and the gutters,
    are ``background``.
    """
    if not images:
        raise ValueError("no images to put in a grid")
    cols = max(1, min(cols or math.ceil(math.sqrt(len(images))), len(images)))
    rows = math.ceil(len(images) / cols)
    width, height = images[0].size
    size = (cols * width + (cols - 1) * pad, rows * height + (rows - 1) * pad)
    grid = PIL.Image.new("RGB", size, background)
    for i, image in enumerate(images):
        grid.paste(image.convert("RGB"), ((i % cols) * (width + pad), (i // cols) * (height + pad)))
    return grid


def enlarge(image: PIL.Image.Image, min_side: int, shorter_side: bool = False) -> PIL.Image.Image:
    """Integer nearest-neighbour upscaling until the long side (or the short one) reaches ``min_side``.

    A 64 px face shown at 256 px keeps its pixels sharp and honest instead of being smoothed into
    detail the model never drew. An image already that large is returned as it is.
    """
    side = min(image.size) if shorter_side else max(image.size)
    scale = max(1, math.ceil(min_side / max(1, side)))
    if scale == 1:
        return image
    return image.resize((image.width * scale, image.height * scale), PIL.Image.Resampling.NEAREST)


def square_crop(image: PIL.Image.Image, size: int) -> PIL.Image.Image:
    """The largest centred square, resized to ``size``: the training photos' framing for a photo that
    already shows a face there (what inversion feeds the model, and alignment's fallback)."""
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), PIL.Image.Resampling.LANCZOS)
