"""The files the handlers hand to Gradio, and how generated images are shown.

Handlers return *paths*, never PIL images: Gradio writes a returned PIL image into its cache under
a hash of its bytes with a plain (non-atomic) write, so two concurrent requests that produce the
same picture (same seed) could serve each other a half-written file. Files returned as paths are
copied into the cache atomically.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

import PIL.Image

from zoo.images import enlarge, image_grid

#: Generated images are enlarged (nearest neighbour) to at least this side for display.
DISPLAY_SIZE = 256
#: White gutters between the cells of a downloaded grid, in native pixels.
GRID_PAD = 2


class OutputFiles:
    """A private folder for every file the handlers give Gradio (images, grids, GIFs, MP4s); old files are pruned."""

    def __init__(self, max_age_s: float = 3600.0, prune_every_s: float = 60.0):
        self.root = Path(tempfile.mkdtemp(prefix="gan_zoo_app_"))
        self.max_age_s = max_age_s
        self.prune_every_s = prune_every_s
        self._last_prune = time.time()
        self._lock = threading.Lock()

    def _prune(self) -> None:
        now = time.time()
        with self._lock:
            if now - self._last_prune < self.prune_every_s:
                return
            self._last_prune = now
        for old in self.root.iterdir():
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < now - self.max_age_s:
                    old.unlink()

    def new_path(self, stem: str, suffix: str) -> Path:
        self._prune()
        handle, name = tempfile.mkstemp(prefix=f"{stem}_", suffix=suffix, dir=self.root)
        os.close(handle)
        return Path(name)

    def save_png(self, image: PIL.Image.Image, stem: str = "image") -> str:
        path = self.new_path(stem, ".png")
        image.save(path, format="PNG")
        return str(path)


OUTPUTS = OutputFiles()


def shown(image: PIL.Image.Image, stem: str = "image") -> str:
    """An output image enlarged for display (pixels kept sharp) and saved as a PNG path."""
    return OUTPUTS.save_png(enlarge(image, DISPLAY_SIZE), stem)


def grid_png(images: Sequence[PIL.Image.Image], stem: str, cols: Optional[int] = None) -> str:
    """A batch as one PNG at native resolution (near-square unless ``cols`` is given), white gutters."""
    return OUTPUTS.save_png(image_grid(images, cols, pad=GRID_PAD), stem)
