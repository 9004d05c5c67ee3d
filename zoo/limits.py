"""Every input limit and its check, written once: pipelines, CLI and app enforce the same ranges in the same words.

The checks raise ``ValueError`` with a message meant for people; the CLI prints it and the app shows
it as a ``gr.Error``. Values may arrive as numpy scalars (sliders), floats (JSON clients) or strings
(number boxes), so whole-number checks accept any of those that *is* a whole number.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

#: Seeds are ``0 .. 2**31 - 1`` everywhere: they survive JavaScript numbers and every UI round trip
#: exactly, and a call with ``seed=s`` uses seeds ``s, s + 1, ...`` up to this bound.
MAX_SEED = 2**31 - 1
#: Images per pipeline/CLI call (memory on a laptop).
MAX_BATCH_SIZE = 256
MAX_IMAGES_PER_PROMPT = 64
MAX_FRAMES = 240
#: The app is a public demo on a 2-core CPU Space: one request must not hog it.
APP_MAX_IMAGES = 16
APP_MAX_TEXT_IMAGES = 8
APP_MAX_FRAMES = 48
#: The choices offered for latent walks and style mixing (zoo.latents implements them).
INTERPOLATION_METHODS = ("slerp", "lerp")
LATENT_SPACES = ("z", "w")
STYLE_RANGE_NAMES = ("coarse", "middle", "fine")
#: Uploads above this many pixels are refused before they are decoded (a 4096x4096 photo is plenty).
MAX_PIXELS = 4096 * 4096


def check_int(name: str, value: Any, low: int, high: int) -> int:
    """A whole number in ``[low, high]`` from any caller (ints, numpy ints, whole floats, numeric strings)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {value!r}")
    if not isinstance(value, numbers.Integral) and (not math.isfinite(value) or not float(value).is_integer()):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {int(value)}")
    return int(value)


def check_seed(value: Any, name: str = "seed") -> int:
    return check_int(name, value, 0, MAX_SEED)


def check_seed_run(seed: Any, count: int) -> int:
    """A first seed whose run ``seed .. seed + count - 1`` (one seed per image) stays in range."""
    seed = check_seed(seed)
    if seed + count - 1 > MAX_SEED:
        raise ValueError(
            f"seed must be between 0 and {MAX_SEED - count + 1} for {count} images "
            f"(image i uses seed + i, and seeds end at {MAX_SEED}), got {seed}"
        )
    return seed


def check_psi(value: Any) -> float:
    """Truncation psi in ``[0, 1]``: beyond 1 extrapolates away from the average face, below 0 mirrors it."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"truncation psi must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"truncation psi must be between 0 and 1, got {value}")
    return float(value)


def check_pixels(width: int, height: int, what: str = "image") -> None:
    """An image of at most :data:`MAX_PIXELS` pixels, judged from its header before it is decoded."""
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"The {what} is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels (e.g. 4096x4096). "
            "Please resize it first."
        )
