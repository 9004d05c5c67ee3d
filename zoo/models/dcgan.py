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

from ..latents import truncate
from .base import DiscriminatorOutput, NoiseGenerator, channel_width, check_positive, check_resolution, dcgan_init

CLASS_HEADS = ("projection", "ac")


class DCGANGenerator(ModelMixin, ConfigMixin, NoiseGenerator):
    """z (plus an optional class embedding) -> 4x4 -> ... -> ``[B, 3, R, R]`` in ``[-1, 1]``.

    As a :class:`NoiseGenerator` it has a single "layer": ``w`` is the (truncated) ``z`` with a
    singleton layer axis, and truncation pulls towards the prior's mean, 0.
    """

    supports_style_mixing = False

    @register_to_config
    def __init__(self, resolution: int = 64, latent_dim: int = 128, base_channels: int = 64, num_classes: int = 0):
        super().__init__()
        check_resolution(resolution)
        check_positive("latent_dim", latent_dim)
        check_positive("base_channels", base_channels)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")

        self.class_embedding = nn.Embedding(num_classes, latent_dim) if num_classes > 0 else None
        in_features = latent_dim * (2 if num_classes > 0 else 1)
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

    @property
    def num_ws(self) -> int:
        return 1

    @property
    def w_dim(self) -> int:
        return self.config.latent_dim

    def mean_w(self, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Zeros: the mean of the N(0, I) prior, which is what truncation in z pulls towards."""
        return torch.zeros(1, 1, self.config.latent_dim, device=self.device, dtype=self.dtype)

    def _check_z(self, z: torch.Tensor) -> None:
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"z must have shape [B, {self.config.latent_dim}], got {tuple(z.shape)}")

    def map(
        self,
        z: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        truncation_psi: float = 1.0,
    ) -> torch.Tensor:
        """``z [B, latent_dim]`` -> ``(psi * z)[:, None]``; labels are only validated here."""
        self._check_z(z)
        self.check_class_labels(class_labels, z.shape[0])
        return truncate(z, torch.zeros((), dtype=z.dtype, device=z.device), truncation_psi).unsqueeze(1)

    def synthesize(self, w: torch.Tensor, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        if w.ndim != 3 or w.shape[1] != 1 or w.shape[2] != self.config.latent_dim:
            raise ValueError(f"w must have shape [B, 1, {self.config.latent_dim}], got {tuple(w.shape)}")
        z = w[:, 0]
        class_labels = self.check_class_labels(class_labels, z.shape[0])
        if self.class_embedding is not None:
            z = torch.cat([z, self.class_embedding(class_labels.to(z.device))], dim=1)
        return self.net(z[:, :, None, None])

    def forward(
        self,
        z: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        truncation_psi: float = 1.0,
    ) -> torch.Tensor:
        # Defined here because nn.Module.forward would otherwise shadow NoiseGenerator.forward in the MRO.
        return self.synthesize(self.map(z, class_labels, truncation_psi), class_labels)


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
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
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
