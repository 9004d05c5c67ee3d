"""DCGAN (Radford et al., 2015) generator and discriminator at any supported power-of-two resolution.

The layer recipe follows the paper (strided transposed convs with BatchNorm + ReLU in G, strided
convs with LeakyReLU(0.2) in D, no BatchNorm on D's first layer, tanh output, N(0, 0.02) init).
Class conditioning is optional: G concatenates a learned class embedding to z, and D either adds a
projection term (Miyato & Koyama, 2018) or exposes an auxiliary-classifier head (Odena et al., 2017).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .base import (
    DiscriminatorOutput, LatentIsStyleGenerator, NoiseGenerator, channel_width, check_num_classes, check_positive,
    check_resolution, dcgan_init,
)

CLASS_HEADS = ("projection", "ac")


class DCGANGenerator(ModelMixin, ConfigMixin, LatentIsStyleGenerator):
    """z (plus an optional class embedding) -> 4x4 -> ... -> ``[B, 3, R, R]`` in ``[-1, 1]``.

    As a :class:`NoiseGenerator` it has a single "layer": ``w`` is the (truncated) ``z`` with a
    singleton layer axis, and truncation pulls towards the prior's mean, 0.
    """

    @register_to_config
    def __init__(self, resolution: int = 64, latent_dim: int = 128, base_channels: int = 64, num_classes: int = 0):
        super().__init__()
        in_features = self.build_input(resolution, latent_dim, base_channels, num_classes)
        num_upsamples = int(math.log2(resolution // 4))  # 4x4 -> R

        width = channel_width(base_channels, num_upsamples - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_features, width, kernel_size=4, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        for depth in range(num_upsamples - 2, -1, -1):
            next_width = channel_width(base_channels, depth)
            layers += [
                nn.ConvTranspose2d(width, next_width, kernel_size=4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(next_width),
                nn.ReLU(inplace=True),
            ]
            width = next_width
        layers += [nn.ConvTranspose2d(width, 3, kernel_size=4, stride=2, padding=1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def synthesize(self, w: torch.Tensor, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.net(self.network_input(w, class_labels)[:, :, None, None])

    # nn.Module.forward would otherwise shadow NoiseGenerator.forward in the MRO.
    forward = NoiseGenerator.forward


class DCGANDiscriminator(ModelMixin, ConfigMixin):
    """``[B, 3, R, R]`` -> real/fake logit per image, plus class logits when ``class_head="ac"``.

    ``spectral_norm=True`` swaps BatchNorm for spectral normalisation on every weight layer: the two
    fight each other (BatchNorm rescales what SN constrains), and SN alone is the stabler choice.
    """

    @register_to_config
    def __init__(
        self,
        resolution: int = 64,
        base_channels: int = 64,
        num_classes: int = 0,
        class_head: str = "projection",
        spectral_norm: bool = False,
    ):
        super().__init__()
        check_resolution(resolution)
        check_positive("base_channels", base_channels)
        check_num_classes(num_classes)
        if class_head not in CLASS_HEADS:
            raise ValueError(f"class_head must be one of {CLASS_HEADS}, got {class_head!r}")

        num_downsamples = int(math.log2(resolution // 4))  # R -> 4x4
        width = channel_width(base_channels, 0)
        layers: list[nn.Module] = [
            nn.Conv2d(3, width, kernel_size=4, stride=2, padding=1),  # no BatchNorm follows, so keep the bias
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for depth in range(1, num_downsamples):
            next_width = channel_width(base_channels, depth)
            # A bias before BatchNorm is cancelled by its mean subtraction; keep it only without BatchNorm.
            layers.append(nn.Conv2d(width, next_width, kernel_size=4, stride=2, padding=1, bias=spectral_norm))
            if not spectral_norm:
                layers.append(nn.BatchNorm2d(next_width))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width = next_width
        self.features = nn.Sequential(*layers)
        self.to_logit = nn.Conv2d(width, 1, kernel_size=4, stride=1, padding=0)

        self.class_embedding: Optional[nn.Embedding] = None
        self.class_classifier: Optional[nn.Linear] = None
        if num_classes > 0 and class_head == "projection":
            self.class_embedding = nn.Embedding(num_classes, width)
        elif num_classes > 0:
            self.class_classifier = nn.Linear(width * 4 * 4, num_classes)

        self.apply(dcgan_init)
        if spectral_norm:
            self._apply_spectral_norm()

    def _apply_spectral_norm(self) -> None:
        for module in list(self.modules()):
            if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
                nn.utils.parametrizations.spectral_norm(module)

    def forward(self, images: torch.Tensor, class_labels: Optional[torch.Tensor] = None) -> DiscriminatorOutput:
        """Labels are required for the projection head and optional (only validated) for the AC head."""
        resolution = self.config.resolution
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, resolution, resolution):
            raise ValueError(f"images must have shape [B, 3, {resolution}, {resolution}], got {tuple(images.shape)}")
        batch = images.shape[0]
        if self.class_classifier is not None and class_labels is None:
            labels = None
        else:
            # Reuse the generator's label checks: they only read config.num_classes.
            labels = NoiseGenerator.check_class_labels(self, class_labels, batch)

        features = self.features(images)
        logits = self.to_logit(features).reshape(batch)
        class_logits = None
        if self.class_embedding is not None:
            pooled = features.sum(dim=(2, 3))
            logits = logits + (self.class_embedding(labels.to(images.device)) * pooled).sum(dim=1)
        if self.class_classifier is not None:
            class_logits = self.class_classifier(features.flatten(1))
        return DiscriminatorOutput(logits=logits, class_logits=class_logits)
