"""pix2pix (Isola et al., 2017) for sketch -> photo: a U-Net generator and a PatchGAN discriminator.

The U-Net goes all the way down to 1x1 (``log2(resolution)`` levels) so the innermost layer sees
the whole face, while the skip connections carry the sketch's line positions straight to the
output at full resolution -- that is what keeps the generated photo aligned with the drawing.
The PatchGAN judges overlapping patches of ``concat(sketch, photo)`` rather than the whole image,
which pushes high-frequency realism while the trainer's L1 term takes care of low frequencies.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .base import (
    DiscriminatorOutput, NoiseGenerator, channel_width, check_num_classes, check_positive, check_resolution, dcgan_init,
)

#: How many of the innermost decoder blocks use dropout (the paper's recipe).
NUM_DROPOUT_BLOCKS = 3
#: Channel widths double per level up to this multiple of ``base_channels`` (512 for base 64).
MAX_CHANNEL_MULTIPLIER = 8


def _down_block(in_ch: int, out_ch: int, norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, kernel_size=4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


def _up_block(in_ch: int, out_ch: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(in_ch, out_ch, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class UNetGenerator(ModelMixin, ConfigMixin):
    """Sketch ``[B, in_channels, R, R]`` -> photo ``[B, out_channels, R, R]`` in ``[-1, 1]``.

    Encoder level ``i`` halves the resolution (Conv4x4 s2 + BatchNorm + LeakyReLU(0.2)); the first
    level has no BatchNorm (it would normalise away the input's contrast) and neither has the 1x1
    bottleneck (BatchNorm over one value per channel and sample is degenerate, and fails outright in
    training mode at batch size 1). Decoder blocks mirror it (ConvTranspose + BatchNorm + ReLU) and
    concatenate the matching encoder output. Dropout on the three innermost decoder blocks is the
    paper's noise source; pipelines run the model in eval mode, so inference is deterministic.
    """

    @register_to_config
    def __init__(
        self,
        resolution: int = 64,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        dropout: float = 0.5,
    ):
        super().__init__()
        check_resolution(resolution)
        check_positive("in_channels", in_channels)
        check_positive("out_channels", out_channels)
        check_positive("base_channels", base_channels)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1), got {dropout!r}")

        num_levels = int(math.log2(resolution))  # R -> 1x1
        widths = [channel_width(base_channels, depth, MAX_CHANNEL_MULTIPLIER) for depth in range(num_levels)]

        self.down_blocks = nn.ModuleList(
            _down_block(
                in_channels if depth == 0 else widths[depth - 1],
                widths[depth],
                norm=0 < depth < num_levels - 1,
            )
            for depth in range(num_levels)
        )
        # up_blocks[k] goes from encoder level (num_levels - 1 - k) to level (num_levels - 2 - k).
        up_blocks = []
        for k, depth in enumerate(range(num_levels - 1, 0, -1)):
            in_ch = widths[depth] if k == 0 else 2 * widths[depth]  # the innermost has no skip yet
            up_blocks.append(_up_block(in_ch, widths[depth - 1], dropout if k < NUM_DROPOUT_BLOCKS else 0.0))
        self.up_blocks = nn.ModuleList(up_blocks)
        self.to_image = nn.Sequential(
            nn.ConvTranspose2d(2 * widths[0], out_channels, kernel_size=4, stride=2, padding=1),
            nn.Tanh(),
        )
        self.apply(dcgan_init)

    def forward(self, sketch: torch.Tensor) -> torch.Tensor:
        resolution, channels = self.config.resolution, self.config.in_channels
        if sketch.ndim != 4 or tuple(sketch.shape[1:]) != (channels, resolution, resolution):
            raise ValueError(
                f"sketch must have shape [B, {channels}, {resolution}, {resolution}], got {tuple(sketch.shape)}"
            )
        skips = []
        h = sketch
        for block in self.down_blocks:
            h = block(h)
            skips.append(h)
        skips.pop()  # the bottleneck is the decoder's input, not a skip
        for block in self.up_blocks:
            h = torch.cat([block(h), skips.pop()], dim=1)
        return self.to_image(h)


class PatchGANDiscriminator(ModelMixin, ConfigMixin):
    """``(sketch, photo)`` -> a ``[B, 1, h, w]`` map of real/fake logits, one per overlapping patch.

    With ``num_layers=3`` this is the paper's 70x70 PatchGAN (C64-C128-C256-C512 for base 64), which
    gives a 30x30 map at 256 px and a 2x2 map at 32 px. ``spectral_norm=True`` swaps BatchNorm for
    spectral normalisation on every weight layer (the two work against each other; same choice as
    the DCGAN discriminator). With ``num_classes > 0`` an auxiliary classifier reads the globally
    average-pooled last feature map and returns ``class_logits [B, num_classes]``.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 6,
        base_channels: int = 64,
        num_layers: int = 3,
        num_classes: int = 0,
        spectral_norm: bool = False,
    ):
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("base_channels", base_channels)
        check_positive("num_layers", num_layers)
        check_num_classes(num_classes)
        use_norm = not spectral_norm

        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
        ]
        width = base_channels
        for depth in range(1, num_layers + 1):
            next_width = channel_width(base_channels, depth, MAX_CHANNEL_MULTIPLIER)
            stride = 2 if depth < num_layers else 1  # the last feature layer keeps resolution (70x70 RF)
            layers.append(nn.Conv2d(width, next_width, kernel_size=4, stride=stride, padding=1, bias=not use_norm))
            if use_norm:
                layers.append(nn.BatchNorm2d(next_width))
            layers.append(nn.LeakyReLU(0.2))
            width = next_width
        self.features = nn.Sequential(*layers)
        self.to_logits = nn.Conv2d(width, 1, kernel_size=4, stride=1, padding=1)
        self.class_classifier = nn.Linear(width, num_classes) if num_classes > 0 else None

        self.apply(dcgan_init)
        if spectral_norm:
            for module in list(self.modules()):
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(module)

    def forward(
        self,
        sketch: torch.Tensor,
        photo: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
    ) -> DiscriminatorOutput:
        """``class_labels`` are only validated (the AC head predicts them; the loss is the trainer's)."""
        if sketch.ndim != 4 or photo.ndim != 4 or sketch.shape[0] != photo.shape[0] or sketch.shape[2:] != photo.shape[2:]:
            raise ValueError(
                "sketch and photo must be [B, C, H, W] with the same batch size and spatial size, "
                f"got {tuple(sketch.shape)} and {tuple(photo.shape)}"
            )
        if sketch.shape[1] + photo.shape[1] != self.config.in_channels:
            raise ValueError(
                f"sketch and photo channels must add up to in_channels={self.config.in_channels}, "
                f"got {sketch.shape[1]} + {photo.shape[1]}"
            )
        if class_labels is not None:
            # Reuse the generators' label checks: they only read config.num_classes.
            NoiseGenerator.check_class_labels(self, class_labels, sketch.shape[0])

        features = self.features(torch.cat([sketch, photo], dim=1))
        logits = self.to_logits(features)
        class_logits = None
        if self.class_classifier is not None:
            class_logits = self.class_classifier(features.mean(dim=(2, 3)))
        return DiscriminatorOutput(logits=logits, class_logits=class_logits)
