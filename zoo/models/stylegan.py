"""A small StyleGAN2-style generator and residual discriminator (Karras et al., 2019/2020).

Kept small enough to train on CPU at 64px, but with the parts that make StyleGAN useful in the zoo:
a mapping network into w space (so truncation and interpolation act on a disentangled space), one
w per synthesis layer (so style mixing by coarse/middle/fine range works), weight modulation and
demodulation, noise injection, skip-connected toRGB outputs, and equalized learning rate.

Deliberate simplifications against the reference implementation: bilinear upsampling and average
pooling instead of FIR filters, no path-length or R1 code here (the trainer owns losses), and no
activation clamping.

Layer layout for resolution R with ``n = log2(R / 4)``: the 4x4 block applies two modulated convs to
the learned constant, every later block upsamples and applies two more, so ``num_ws = 2 * n + 2`` and
w index ``i`` works at ``4 * 2 ** (i // 2)`` px (see :meth:`StyleGANGenerator.layer_resolutions`).
Each block's toRGB reuses the w of that block's second conv, so mixing a range touches exactly the
layers at those resolutions.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from ..latents import truncate
from .base import DiscriminatorOutput, NoiseGenerator, check_resolution, minibatch_stddev

NOISE_MODES = ("const", "random", "none")

# Gain that keeps activations at unit variance through leaky ReLU(0.2) (StyleGAN's "def_gain").
_LRELU_GAIN = math.sqrt(2.0)
# Seed for the constant noise buffers, so two freshly built models start with the same noise.
_CONST_NOISE_SEED = 0x5EED


def _check_int(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each vector to unit RMS so the mapping network sees inputs of a fixed magnitude."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * _LRELU_GAIN


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate: weights stored at N(0, 1/lr_mul), scaled at run time.

    Why: Adam's per-parameter step size then acts equally on every layer regardless of fan-in, and
    ``lr_mul`` < 1 slows the mapping network relative to synthesis, as StyleGAN does (0.01).
    """

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """Conv with equalized learning rate (see :class:`EqualLinear`); "same" padding."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.padding)


class MappingNetwork(nn.Module):
    """z (pixel-normalised, optionally with a normalised condition embedding) -> w through an MLP.

    The condition is either a class (``num_classes``, one-hot) or a continuous vector
    (``condition_dim``, e.g. a text model's conditioning-augmented caption code). Either way it is
    embedded to z's width and normalised like z, so neither input can drown the other at the start.
    """

    def __init__(
        self, latent_dim: int, w_dim: int, num_layers: int, num_classes: int, lr_mul: float = 0.01, condition_dim: int = 0
    ):
        super().__init__()
        if num_classes > 0 and condition_dim > 0:
            raise ValueError("a mapping network takes a class or a condition vector, not both")
        embed_in = num_classes or condition_dim
        self.class_embedding = EqualLinear(embed_in, latent_dim) if embed_in > 0 else None
        self.num_classes = num_classes
        self.condition_dim = condition_dim
        features = [latent_dim * (2 if embed_in > 0 else 1)] + [w_dim] * num_layers
        self.layers = nn.ModuleList(
            EqualLinear(features[i], features[i + 1], lr_mul=lr_mul) for i in range(num_layers)
        )

    def forward(
        self, z: torch.Tensor, class_labels: Optional[torch.Tensor], condition: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        x = _pixel_norm(z)
        if self.class_embedding is not None:
            if self.num_classes > 0:
                condition = F.one_hot(class_labels.to(z.device), self.num_classes).to(z.dtype)
            elif condition is None or condition.shape != (z.shape[0], self.condition_dim):
                shape = None if condition is None else tuple(condition.shape)
                raise ValueError(f"condition must have shape [{z.shape[0]}, {self.condition_dim}], got {shape}")
            x = torch.cat([x, _pixel_norm(self.class_embedding(condition))], dim=1)
        for layer in self.layers:
            x = _lrelu(layer(x))
        return x


class ModulatedConv2d(nn.Module):
    """Conv whose weights are scaled per sample by a style from w (optionally demodulated).

    Demodulation rescales each output channel to unit expected variance, which replaces AdaIN's
    instance norm without the "water droplet" artefacts StyleGAN2 traced to it.

    Two equivalent ways to compute it (as in StyleGAN2's ``fused_modconv``): *fused* builds one
    weight per sample and runs a grouped conv; *unfused* scales the activations by the style, runs
    one shared conv and scales the output by the demodulation coefficients. In training mode the
    unfused form is used, because the grouped conv's backward pass is slow on CPU (a whole
    64 -> 256-channel StyleGAN training step ran 2.1x faster on 2 cores; README, Performance).
    In eval mode the fused form is used, so sampled images do not depend on the batch size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, demodulate: bool = True):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.demodulate = demodulate
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain  # [B, in]
        if self.training:
            return self._unfused(x, styles)
        return self._fused(x, styles)

    def _fused(self, x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        batch, in_channels, height, width = x.shape
        weight = self.weight.unsqueeze(0) * styles[:, None, :, None, None]  # [B, out, in, k, k]
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        out_channels = weight.shape[1]
        # Grouped conv applies a different weight to each sample in one call.
        out = F.conv2d(
            x.reshape(1, batch * in_channels, height, width),
            weight.reshape(batch * out_channels, in_channels, *weight.shape[3:]),
            padding=self.padding,
            groups=batch,
        )
        return out.reshape(batch, out_channels, height, width)

    def _unfused(self, x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x * styles[:, :, None, None].to(x.dtype), self.weight.to(x.dtype), padding=self.padding)
        if self.demodulate:
            # sum over (in, k, k) of (W[o,i] * s[i])^2 = sum_i s[i]^2 * sum_kk W[o,i]^2
            coefficients = torch.rsqrt(styles.square() @ self.weight.square().sum(dim=(2, 3)).t() + 1e-8)
            out = out * coefficients[:, :, None, None].to(out.dtype)
        return out


class SynthesisLayer(nn.Module):
    """Optional 2x upsample, modulated 3x3 conv, per-pixel noise, bias and leaky ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, resolution: int, upsample: bool, layer_index: int
    ):
        super().__init__()
        self.upsample = upsample
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        # Persistent so that "const" noise, and hence eval-mode images, survive save/load bit for bit.
        generator = torch.Generator().manual_seed(_CONST_NOISE_SEED + layer_index)
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution, generator=generator))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.conv(x, w)
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
            x = x + noise * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength
        return _lrelu(x + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    """Modulated 1x1 conv to RGB without demodulation (colour scale must stay style-controlled)."""

    def __init__(self, in_channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, 3, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisBlock(nn.Module):
    """Two synthesis layers at one resolution plus a toRGB added to the upsampled running image."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, block_index: int):
        super().__init__()
        self.resolution = resolution
        upsample = resolution > 4
        self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, upsample, 2 * block_index)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, False, 2 * block_index + 1)
        self.to_rgb = ToRGB(out_channels, w_dim)

    def forward(
        self, x: torch.Tensor, image: Optional[torch.Tensor], ws: torch.Tensor, noise_mode: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.conv0(x, ws[:, 0], noise_mode)
        x = self.conv1(x, ws[:, 1], noise_mode)
        rgb = self.to_rgb(x, ws[:, 1])
        if image is not None:
            rgb = rgb + F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False)
        return x, rgb


def _stylegan_channels(resolution: int, output_resolution: int, base_channels: int, max_channels: int) -> int:
    """``base_channels`` at the output resolution, doubling per halving of resolution, capped."""
    return min(base_channels * (output_resolution // resolution), max_channels)


def build_synthesis(
    resolution: int, w_dim: int, base_channels: int, max_channels: int, rgb_init_gain: float
) -> tuple[nn.Parameter, nn.ModuleList]:
    """The learned 4x4 constant and the synthesis blocks up to ``resolution``.

    Returned as parts rather than one module so each generator registers them under its own names
    (``const``, ``blocks``): the bundled checkpoints' keys stay what they are.
    """
    if not rgb_init_gain > 0:
        raise ValueError(f"rgb_init_gain must be positive, got {rgb_init_gain!r}")
    resolutions = [4 * 2**i for i in range(int(math.log2(resolution // 4)) + 1)]
    widths = [_stylegan_channels(r, resolution, base_channels, max_channels) for r in resolutions]
    const = nn.Parameter(torch.randn(widths[0], 4, 4))
    blocks = nn.ModuleList(
        SynthesisBlock(widths[max(i - 1, 0)], widths[i], w_dim, r, i) for i, r in enumerate(resolutions)
    )
    # StyleGAN2's toRGB starts with images of std ~2 and a colour cast (7x the DCGAN generator's
    # spread): a learned-from-scratch D adapts, but a frozen ImageNet network reads such images as
    # saturated colour fields and a projected D wins at once. A gain < 1 starts G near grey.
    with torch.no_grad():
        for block in blocks:
            block.to_rgb.conv.weight.mul_(rgb_init_gain)
    return const, blocks


def run_synthesis(const: torch.Tensor, blocks: nn.ModuleList, ws: torch.Tensor, noise_mode: str) -> torch.Tensor:
    """``ws [B, 2 * len(blocks), w_dim]`` -> image (no tanh), two ws per block."""
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
    x = const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
    image = None
    for index, block in enumerate(blocks):
        x, image = block(x, image, ws[:, 2 * index : 2 * index + 2], noise_mode)
    return image


class StyleGANGenerator(ModelMixin, ConfigMixin, NoiseGenerator):
    """Mapping network + modulated synthesis network; ``forward(z)`` gives ``[B, 3, R, R]`` (no tanh).

    Noise is ``"random"`` in training mode and ``"const"`` (persistent buffers) in eval mode unless
    ``noise_mode`` is passed, so eval samples are reproducible across save/load and machines.
    """

    supports_style_mixing = True

    @register_to_config
    def __init__(
        self,
        resolution: int = 64,
        latent_dim: int = 256,
        w_dim: int = 256,
        mapping_layers: int = 4,
        base_channels: int = 256,
        max_channels: int = 256,
        num_classes: int = 0,
        w_avg_beta: float = 0.995,
        rgb_init_gain: float = 1.0,
    ):
        super().__init__()
        check_resolution(resolution)
        for name, value, minimum in (
            ("latent_dim", latent_dim, 1),
            ("w_dim", w_dim, 1),
            ("mapping_layers", mapping_layers, 1),
            ("base_channels", base_channels, 1),
            ("max_channels", max_channels, 1),
            ("num_classes", num_classes, 0),
        ):
            _check_int(name, value, minimum)
        if not 0.0 <= w_avg_beta < 1.0:
            raise ValueError(f"w_avg_beta must be in [0, 1), got {w_avg_beta!r}")

        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_layers, num_classes)
        self.const, self.blocks = build_synthesis(resolution, w_dim, base_channels, max_channels, rgb_init_gain)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    @property
    def num_ws(self) -> int:
        return 2 * len(self.blocks)

    @property
    def w_dim(self) -> int:
        return self.config.w_dim

    def layer_resolutions(self) -> list[int]:
        """The resolution (px) each w index drives; :func:`zoo.latents.layers_for_range` reads this."""
        return [block.resolution for block in self.blocks for _ in range(2)]

    def mean_w(self, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The running mean of w, shared by all classes (labels are accepted for the contract only)."""
        return self.w_avg.reshape(1, 1, -1).expand(1, self.num_ws, -1)

    @torch.no_grad()
    def update_w_avg(self, w: torch.Tensor) -> None:
        """EMA of mapped w (``[B, w_dim]`` or ``[B, num_ws, w_dim]``) with ``w_avg_beta``; called by the trainer."""
        if w.shape[-1] != self.config.w_dim or w.ndim not in (2, 3):
            w_dim = self.config.w_dim
            raise ValueError(f"w must be [B, {w_dim}] or [B, num_ws, {w_dim}], got {tuple(w.shape)}")
        batch_mean = w.detach().reshape(-1, w.shape[-1]).mean(dim=0).to(self.w_avg.dtype)
        self.w_avg.copy_(torch.lerp(batch_mean, self.w_avg, self.config.w_avg_beta))

    def map(
        self,
        z: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        truncation_psi: float = 1.0,
    ) -> torch.Tensor:
        self.check_z(z)
        class_labels = self.check_class_labels(class_labels, z.shape[0])
        w = self.mapping(z, class_labels).unsqueeze(1).repeat(1, self.num_ws, 1)
        return truncate(w, self.mean_w(class_labels), truncation_psi)

    def synthesize(
        self,
        w: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        noise_mode: Optional[str] = None,
    ) -> torch.Tensor:
        """``w [B, num_ws, w_dim]`` -> image. Labels are unused: the class is already encoded in w."""
        expected = (self.num_ws, self.config.w_dim)
        if w.ndim != 3 or tuple(w.shape[1:]) != expected:
            raise ValueError(f"w must have shape [B, {expected[0]}, {expected[1]}], got {tuple(w.shape)}")
        if noise_mode is None:
            noise_mode = "random" if self.training else "const"
        return run_synthesis(self.const, self.blocks, w, noise_mode)

    def forward(
        self,
        z: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        truncation_psi: float = 1.0,
        noise_mode: Optional[str] = None,
    ) -> torch.Tensor:
        # Defined here because nn.Module.forward would otherwise shadow NoiseGenerator.forward in the MRO.
        return self.synthesize(self.map(z, class_labels, truncation_psi), class_labels, noise_mode=noise_mode)


class DiscriminatorBlock(nn.Module):
    """Two 3x3 convs then 2x average-pool downsampling, with a 1x1 residual path (scaled by 1/sqrt 2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))
        x = _lrelu(self.conv0(x))
        x = _lrelu(self.conv1(F.avg_pool2d(x, 2)))
        return (x + skip) * (1.0 / math.sqrt(2.0))


class StyleGANDiscriminator(ModelMixin, ConfigMixin):
    """Residual discriminator: fromRGB, downsampling blocks to 4x4, minibatch-stddev, dense to a logit.

    With ``num_classes > 0`` it adds the projection term ``<embed(y), features> / sqrt(C)``.
    """

    @register_to_config
    def __init__(self, resolution: int = 64, base_channels: int = 64, max_channels: int = 256, num_classes: int = 0):
        super().__init__()
        check_resolution(resolution)
        _check_int("base_channels", base_channels, 1)
        _check_int("max_channels", max_channels, 1)
        _check_int("num_classes", num_classes, 0)

        resolutions = [resolution // 2**i for i in range(int(math.log2(resolution // 4)) + 1)]  # R ... 4
        widths = [_stylegan_channels(r, resolution, base_channels, max_channels) for r in resolutions]
        self.from_rgb = EqualConv2d(3, widths[0], 1)
        self.blocks = nn.ModuleList(DiscriminatorBlock(widths[i], widths[i + 1]) for i in range(len(widths) - 1))
        final = widths[-1]
        self.final_conv = EqualConv2d(final + 1, final, 3)
        self.final_dense = EqualLinear(final * 4 * 4, final)
        self.to_logit = EqualLinear(final, 1)
        self.class_embedding = EqualLinear(num_classes, final) if num_classes > 0 else None

    def forward(self, images: torch.Tensor, class_labels: Optional[torch.Tensor] = None) -> DiscriminatorOutput:
        resolution = self.config.resolution
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, resolution, resolution):
            raise ValueError(f"images must have shape [B, 3, {resolution}, {resolution}], got {tuple(images.shape)}")
        batch = images.shape[0]
        # Reuse the generator's label checks: they only read config.num_classes.
        labels = NoiseGenerator.check_class_labels(self, class_labels, batch)

        x = _lrelu(self.from_rgb(images))
        for block in self.blocks:
            x = block(x)
        x = _lrelu(self.final_conv(minibatch_stddev(x)))
        features = _lrelu(self.final_dense(x.flatten(1)))
        logits = self.to_logit(features).reshape(batch)
        if self.class_embedding is not None:
            one_hot = F.one_hot(labels.to(images.device), self.config.num_classes).to(features.dtype)
            projection = (self.class_embedding(one_hot) * features).sum(dim=1)
            logits = logits + projection / math.sqrt(features.shape[1])
        return DiscriminatorOutput(logits=logits, class_logits=None)
