"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) and real-image flips.

Why: with a few hundred images D memorises the training set within a few thousand steps and G's
gradients go to noise. DiffAugment applies the *same kind* of random colour, translation and
cutout transforms to real and fake images before D sees them; because every op is differentiable,
G still gets gradients through the augmented fakes, and since fakes are augmented too, the
augmentations do not leak into what G learns to generate.

All randomness comes from an explicit ``torch.Generator`` so that the trainer can derive it from
``(seed, step)`` and a resumed run replays exactly the same augmentations.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

#: Translation shifts by up to this fraction of the image side; cutout removes a square of this fraction.
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _device(generator: Optional[torch.Generator], like: torch.Tensor) -> torch.device:
    """Draw where the generator lives (the images' device when there is none)."""
    return generator.device if generator is not None else like.device


def _rand(shape: Sequence[int], generator: Optional[torch.Generator], like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) from ``generator``, next to the images and in their dtype."""
    out = torch.rand(*shape, generator=generator, device=_device(generator, like))
    return out.to(device=like.device, dtype=like.dtype)


def _randint(low: int, high: int, shape: Sequence[int], generator: Optional[torch.Generator], like: torch.Tensor) -> torch.Tensor:
    out = torch.randint(low, high, tuple(shape), generator=generator, device=_device(generator, like))
    return out.to(like.device)


def color(x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image."""
    b = x.shape[0]
    x = x + (_rand((b, 1, 1, 1), generator, x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand((b, 1, 1, 1), generator, x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand((b, 1, 1, 1), generator, x) + 0.5) + mean


def translation(x: torch.Tensor, generator: Optional[torch.Generator] = None, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    """Shift each image by a random integer offset of up to ``ratio`` of its side, filling with zeros."""
    b, c, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if sy == 0 and sx == 0:
        return x
    dy = _randint(-sy, sy + 1, (b, 1, 1), generator, x)
    dx = _randint(-sx, sx + 1, (b, 1, 1), generator, x)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy + sy  # index into the zero-padded image
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx + sx
    padded = F.pad(x, (sx, sx, sy, sy))
    flat = padded.flatten(2)  # [B, C, (H+2sy)*(W+2sx)]
    index = (rows * (w + 2 * sx) + cols).reshape(b, 1, h * w).expand(b, c, h * w)
    return torch.gather(flat, 2, index).reshape(b, c, h, w)


def cutout(x: torch.Tensor, generator: Optional[torch.Generator] = None, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Zero a random square of ``ratio`` of the side per image (may hang over the border)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(0, h + (1 - ch % 2), (b, 1, 1), generator, x)
    cx = _randint(0, w + (1 - cw % 2), (b, 1, 1), generator, x)
    top, left = cy - ch // 2, cx - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policies: Sequence[str], generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Apply the named policies in order; an empty sequence returns ``x`` unchanged."""
    for name in policies:
        if name not in _POLICIES:
            raise ValueError(f"unknown DiffAugment policy {name!r}; choose from {sorted(_POLICIES)}")
        x = _POLICIES[name](x, generator)
    return x


def random_hflip(
    tensors: Sequence[Optional[torch.Tensor]], generator: Optional[torch.Generator] = None
) -> list[Optional[torch.Tensor]]:
    """Mirror the same random half of the batch in every tensor (so a sketch stays aligned with its photo)."""
    first = next(t for t in tensors if t is not None)
    flip = (_rand((first.shape[0],), generator, first) < 0.5).view(-1, 1, 1, 1)
    return [None if t is None else torch.where(flip, t.flip(3), t) for t in tensors]
