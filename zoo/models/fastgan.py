"""FastGAN-style generator (Liu et al., 2021, "Towards Faster and Stabilized GAN Training for
High-fidelity Few-shot Image Synthesis"), the lite variant Projected GANs pair with their
discriminator.

Why a third noise generator: FastGAN was designed for a few hundred training images and one GPU
day, which is this project's situation scaled down to a CPU. Its pieces:

- few channels, halving as the resolution doubles (``base_channels`` x 16 at 4x4 down to x 2 at
  64x64), one 3x3 convolution per resolution, nearest-neighbour upsampling, BatchNorm and GLU
  gates, spectral normalisation on every convolution;
- skip-layer excitation (SLE): a 4x4 feature map, pooled and squeezed to one gate per channel,
  rescales the channels of the feature map 16 times larger. The coarse layout thereby steers the
  fine layers directly, a short gradient path that FastGAN credits for its speed and stability.

Its discriminator for the classic (non-projected) path is DCGAN's, with spectral normalisation;
the recipe this family was added for uses the projected discriminator (``zoo.models.projected``).
Like DCGAN it maps z to itself (``w`` is ``z`` with a singleton layer axis) and truncates towards
the prior's mean.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .base import LatentIsStyleGenerator, NoiseGenerator
from .dcgan import DCGANDiscriminator

#: Channels per resolution as multiples of ``base_channels`` (FastGAN's ``nfc_multi``).
_WIDTH_MULTIPLIER = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 1}
#: SLE gates the map at resolution r with the one at r / 16 (FastGAN: 4 -> 64, 8 -> 128, 16 -> 256).
_SLE_SPAN = 16


def fastgan_width(base_channels: int, resolution: int) -> int:
    return base_channels * _WIDTH_MULTIPLIER[resolution]


def _sn_conv(in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, bias: bool = True) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=bias)
    )


class UpBlock(nn.Module):
    """2x nearest upsampling, a 3x3 conv to twice the width, BatchNorm, GLU (half the channels gate the rest)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            _sn_conv(in_channels, out_channels * 2, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels * 2),
            nn.GLU(dim=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SkipLayerExcitation(nn.Module):
    """Per-channel gates in (0, 1) for a large map, computed from a small one (pooled to 4x4)."""

    def __init__(self, small_channels: int, large_channels: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            _sn_conv(small_channels, large_channels, 4, bias=False),
            nn.SiLU(),
            _sn_conv(large_channels, large_channels, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, small: torch.Tensor, large: torch.Tensor) -> torch.Tensor:
        return large * self.net(small)


class FastGANGenerator(ModelMixin, ConfigMixin, LatentIsStyleGenerator):
    """z (plus an optional class embedding) -> 4x4 -> ... -> ``[B, 3, R, R]`` in ``[-1, 1]``."""

    @register_to_config
    def __init__(self, resolution: int = 64, latent_dim: int = 256, base_channels: int = 16, num_classes: int = 0):
        super().__init__()
        in_features = self.build_input(resolution, latent_dim, base_channels, num_classes)
        width4 = fastgan_width(base_channels, 4)
        self.initial = nn.Sequential(  # z -> 4x4
            nn.utils.parametrizations.spectral_norm(nn.ConvTranspose2d(in_features, width4 * 2, 4, bias=False)),
            nn.BatchNorm2d(width4 * 2),
            nn.GLU(dim=1),
        )
        self.resolutions = [4 * 2**i for i in range(1, int(math.log2(resolution // 4)) + 1)]
        self.ups = nn.ModuleDict()
        self.sle = nn.ModuleDict()
        for r in self.resolutions:
            self.ups[str(r)] = UpBlock(fastgan_width(base_channels, r // 2), fastgan_width(base_channels, r))
            if r // _SLE_SPAN >= 4:
                self.sle[str(r)] = SkipLayerExcitation(
                    fastgan_width(base_channels, r // _SLE_SPAN), fastgan_width(base_channels, r)
                )
        self.to_rgb = _sn_conv(fastgan_width(base_channels, resolution), 3, 3, padding=1)

    def synthesize(self, w: torch.Tensor, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        features = {4: self.initial(self.network_input(w, class_labels)[:, :, None, None])}
        x = features[4]
        for r in self.resolutions:
            x = self.ups[str(r)](x)
            if str(r) in self.sle:
                x = self.sle[str(r)](features[r // _SLE_SPAN], x)
            features[r] = x
        return torch.tanh(self.to_rgb(x))

    # nn.Module.forward would otherwise shadow NoiseGenerator.forward in the MRO.
    forward = NoiseGenerator.forward


class FastGANDiscriminator(DCGANDiscriminator):
    """The classic-path discriminator of the fastgan family: DCGAN's (set ``spectral_norm: true``).

    FastGAN's own discriminator adds self-supervised decoders; this project's recipe replaces it
    with the projected discriminator, so the classic path only has to exist for the ablation.
    """
