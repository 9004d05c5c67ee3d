"""Tiny randomly initialised checkpoints of every family, for fast tests of everything downstream."""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.models.dcgan import DCGANGenerator
from zoo.models.fastgan import FastGANGenerator
from zoo.models.pix2pix import UNetGenerator
from zoo.models.stylegan import StyleGANGenerator
from zoo.models.textgan import TextConditionalGenerator
from zoo.pipelines import GANSamplingPipeline, Sketch2PhotoPipeline, Text2ImagePipeline, ZooPipeline

RESOLUTION = 32


def tiny_generator(family: str, num_classes: int = 0) -> torch.nn.Module:
    torch.manual_seed(0)
    if family == "dcgan":
        model = DCGANGenerator(resolution=RESOLUTION, latent_dim=16, base_channels=8, num_classes=num_classes)
    elif family == "stylegan":
        model = StyleGANGenerator(resolution=RESOLUTION, latent_dim=16, w_dim=16, mapping_layers=2,
                                  base_channels=16, max_channels=16, num_classes=num_classes)
        with torch.no_grad():  # a non-zero mean w, so truncation tests can tell it from zeros
            model.w_avg.normal_()
    elif family == "fastgan":
        model = FastGANGenerator(resolution=RESOLUTION, latent_dim=16, base_channels=2, num_classes=num_classes)
    elif family == "pix2pix":
        model = UNetGenerator(resolution=RESOLUTION, base_channels=8)
    elif family == "textgan":
        model = TextConditionalGenerator(resolution=RESOLUTION, latent_dim=16, condition_dim=8, base_channels=8)
    elif family == "textgan-style":  # the text model with upsampling 'style' (text2face-64-style.yaml)
        model = TextConditionalGenerator(resolution=RESOLUTION, latent_dim=16, condition_dim=8, base_channels=16,
                                         upsampling="style", w_dim=16, mapping_layers=2, max_channels=16, rgb_init_gain=1.0)
    else:
        raise ValueError(family)
    if family not in ("stylegan", "textgan-style"):
        with torch.no_grad():  # the DCGAN-style N(0, 0.02) init gives near-constant grey images; tests need contrast
            for param in model.parameters():
                if param.dim() == 4:
                    param.normal_(0, 0.3)
    _settle_batchnorm(model)
    return model.eval()


@torch.no_grad()
def _settle_batchnorm(model: torch.nn.Module) -> None:
    """Freshly initialised BatchNorm running stats make eval-mode outputs flat grey; a few train-mode passes fix that."""
    if not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return
    model.train()
    config = model.config
    for _ in range(3):
        if hasattr(config, "text_embed_dim"):
            model(torch.randn(8, config.latent_dim), torch.randn(8, config.text_embed_dim))
        elif hasattr(config, "latent_dim"):
            labels = torch.arange(8) % config.num_classes if config.num_classes else None
            model(torch.randn(8, config.latent_dim), labels)
        else:
            model(torch.rand(8, 3, config.resolution, config.resolution) * 2 - 1)


PIPELINE_OF = {"dcgan": GANSamplingPipeline, "stylegan": GANSamplingPipeline, "fastgan": GANSamplingPipeline,
               "pix2pix": Sketch2PhotoPipeline, "textgan": Text2ImagePipeline}


def tiny_pipeline(family: str, num_classes: int = 0) -> ZooPipeline:
    pipe = PIPELINE_OF[family](generator=tiny_generator(family, num_classes))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_tiny_checkpoint(family: str, path: Path, num_classes: int = 0) -> Path:
    tiny_pipeline(family, num_classes).save_pretrained(str(path))
    return path
