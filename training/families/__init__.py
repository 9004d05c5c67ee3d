"""One adapter per model family: what the generic loop cannot know.

The loop (``training/loop.py``) owns optimisers, accumulation, EMA, checkpoints and outputs; an
adapter says how to build the family's G and D from the config, what one step's D and G losses
are, what a sample grid shows, how FID images are generated and which pipeline class saves it.

DDP note: the D loss runs the *prepared* (possibly DDP-wrapped) D and makes fakes with the raw G
under ``no_grad``; the G loss runs the prepared G and the raw D with D's parameters frozen. Each
wrapped model is thus only called in the phase whose gradients it synchronises.
"""

from __future__ import annotations

from training.config import ConfigError
from training.families.base import Family, GenerateFn, Logs, StepContext, fixed_ncol
from training.families.noise import DCGANFamily, FastGANFamily, StyleGANFamily
from training.families.pix2pix import Pix2PixFamily
from training.families.textgan import TextGANFamily

__all__ = [
    "FAMILIES", "DCGANFamily", "FastGANFamily", "Family", "GenerateFn", "Logs", "Pix2PixFamily", "StepContext", "StyleGANFamily",
    "TextGANFamily", "fixed_ncol", "get_family",
]

FAMILIES: dict[str, Family] = {f.name: f for f in (DCGANFamily(), StyleGANFamily(), FastGANFamily(), Pix2PixFamily(), TextGANFamily())}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"family must be one of {', '.join(FAMILIES)}; got {name!r}")
    return FAMILIES[name]
