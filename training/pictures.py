"""Pictures a run leaves behind: sample grids, the progress GIF and the loss-curve plot.

Grids come from a fixed set of seeds (or held-out inputs), so consecutive grids differ only by
training progress; the GIF strings them together. Everything is written by the main process only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import PIL.Image
import torch
from diffusers.utils import export_to_gif

from zoo.images import enlarge
from zoo.images import image_grid as zoo_image_grid
from zoo.sketch import tensor_to_pil

GRID_PATTERN = re.compile(r"grid_step_(\d+)\.png$")
#: Grids are upscaled (nearest) to at least this many pixels per image so 32 px samples are visible.
MIN_CELL = 64


def image_grid(images: torch.Tensor, ncol: int) -> PIL.Image.Image:
    """``[N, 3, H, W]`` in ``[-1, 1]`` tiled row by row (empty cells black), cells enlarged to ``MIN_CELL``."""
    pils = [enlarge(tensor_to_pil(image), MIN_CELL) for image in images]
    if not pils:
        raise ValueError("image_grid needs at least one image")
    return zoo_image_grid(pils, cols=ncol, background="black")


def save_grid(images: torch.Tensor, ncol: int, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(images, ncol).save(path)
    return path


def grid_path(samples_dir: Path, step: int) -> Path:
    return samples_dir / f"grid_step_{step:06d}.png"


def step_grids(samples_dir: Path) -> list[Path]:
    """The ``grid_step_*.png`` files in step order."""
    found = [(int(m.group(1)), p) for p in samples_dir.glob("grid_step_*.png") if (m := GRID_PATTERN.search(p.name))]
    return [p for _, p in sorted(found)]


def write_progress_gif(samples_dir: Path, out: Optional[Path] = None, fps: int = 4, max_frames: int = 100) -> Optional[Path]:
    """All step grids (thinned to ``max_frames``) as an animated GIF; ``None`` when there are none."""
    grids = step_grids(samples_dir)
    if not grids:
        return None
    if len(grids) > max_frames:  # keep the first and last, evenly spaced in between
        keep = np.linspace(0, len(grids) - 1, max_frames).round().astype(int)
        grids = [grids[i] for i in sorted(set(keep.tolist()))]
    frames = []
    for p in grids:
        with PIL.Image.open(p) as im:
            frames.append(im.convert("RGB"))
    size = frames[-1].size
    frames = [f if f.size == size else f.resize(size) for f in frames]
    out = out or samples_dir / "progress.gif"
    export_to_gif(frames, str(out), fps=fps)
    return out


def plot_loss_curves(history: Sequence[dict[str, Any]], path: Path) -> Path:
    """D and G totals (solid) and their terms (dashed) against step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on training machines
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    keys = sorted({k for row in history for k in row if k != "step"})
    for key in keys:
        points = [(row["step"], row[key]) for row in history if key in row and row[key] is not None]
        if points:
            steps, values = zip(*points)
            total = key in ("d_loss", "g_loss")
            ax.plot(steps, values, label=key, linewidth=2.0 if total else 1.0, linestyle="-" if total else "--")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("training losses")
    if keys:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no losses logged", ha="center", va="center", transform=ax.transAxes)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
