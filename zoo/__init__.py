"""GAN Zoo: GAN model families in a Hub-native (diffusers) format, their pipelines and a registry.

The component classes are exported here because diffusers records a component as
``["zoo", "ClassName"]`` in ``model_index.json`` and looks the class up on this package when it
loads a saved pipeline. The exports are lazy so that ``import zoo`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DCGANGenerator": "zoo.models.dcgan",
    "DCGANDiscriminator": "zoo.models.dcgan",
    "FastGANGenerator": "zoo.models.fastgan",
    "FastGANDiscriminator": "zoo.models.fastgan",
    "StyleGANGenerator": "zoo.models.stylegan",
    "StyleGANDiscriminator": "zoo.models.stylegan",
    "UNetGenerator": "zoo.models.pix2pix",
    "PatchGANDiscriminator": "zoo.models.pix2pix",
    "TextConditionalGenerator": "zoo.models.textgan",
    "TextMatchingDiscriminator": "zoo.models.textgan",
    "GANSamplingPipeline": "zoo.pipelines",
    "GANInterpolationPipeline": "zoo.pipelines",
    "GANStyleMixingPipeline": "zoo.pipelines",
    "Sketch2PhotoPipeline": "zoo.pipelines",
    "Text2ImagePipeline": "zoo.pipelines",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
