"""Shared contracts for the model families.

Every generator that turns noise into images implements :class:`NoiseGenerator`, so that the
sampling, interpolation and style-mixing pipelines, the trainer and the app treat the DCGAN and
StyleGAN families alike. The split into ``map`` (z -> per-layer w) and ``synthesize`` (w -> image)
exists because truncation, interpolation in w space and style mixing all act between the two;
for DCGAN ``w`` is simply ``z`` with a singleton layer axis.

Every discriminator returns a :class:`DiscriminatorOutput` so that the trainer's loss code does not
care whether a class head exists.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import nn

from ..latents import truncate

#: Resolutions the convolutional families support (powers of two).
SUPPORTED_RESOLUTIONS = (32, 64, 128, 256)


def check_resolution(resolution: int) -> int:
    """Reject resolutions the up/down-sampling stacks cannot build, with the allowed list."""
    if resolution not in SUPPORTED_RESOLUTIONS:
        raise ValueError(f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {resolution!r}")
    return resolution


def check_positive(name: str, value: int) -> None:
    """Constructor arguments arrive from config files; reject bools, floats and non-positive values early."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def check_num_classes(num_classes: int) -> None:
    """0 (unconditional) or a class count; bools and floats from config files are refused."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")


def channel_width(base_channels: int, depth: int, max_multiplier: int = 8) -> int:
    """DCGAN/pix2pix widths: ``base_channels`` doubling per resolution step away from the image, capped."""
    return base_channels * min(2**depth, max_multiplier)


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's N(0, 0.02) init (used by pix2pix and StackGAN too); BatchNorm scales at N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Append the mean std of features across a group of samples as an extra channel.

    Why: it lets D see batch-level variety, which penalises a generator that collapses to few modes.
    The group is the largest divisor of the batch not above ``group_size`` so any batch size works.
    """
    batch, channels, height, width = x.shape
    group = next(g for g in range(min(group_size, batch), 0, -1) if batch % g == 0)
    y = x.reshape(group, batch // group, channels, height, width)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # [B/G, C, H, W]
    y = y.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1)  # [B/G, 1, 1, 1]
    y = y.repeat(group, 1, height, width)  # sample i gets the statistic of group i % (B/G)
    return torch.cat([x, y], dim=1)


class DiscriminatorOutput(NamedTuple):
    """Real/fake logits, plus class logits when the discriminator has an auxiliary classifier head.

    Text discriminators also judge the image without its caption: ``logits`` are then the
    image-text match and ``unconditional_logits`` the plain real/fake score (StackGAN++'s joint loss).
    """

    logits: torch.Tensor  # [B] (or [B, 1, h, w] for PatchGAN)
    class_logits: Optional[torch.Tensor] = None  # [B, num_classes] or None
    unconditional_logits: Optional[torch.Tensor] = None  # [B] or [B, P]; text discriminators only


class NoiseGenerator:
    """Mixin contract for noise -> image generators (used together with ModelMixin + ConfigMixin).

    Config keys every implementation registers: ``resolution``, ``latent_dim``, ``num_classes``
    (0 = unconditional). Images are ``[B, 3, R, R]`` in ``[-1, 1]``.
    """

    #: True when ``synthesize`` uses a different w per layer, so layer-range style mixing is meaningful.
    supports_style_mixing: bool = False

    @property
    def num_ws(self) -> int:
        """Number of per-layer style vectors that ``map`` returns (1 for DCGAN)."""
        raise NotImplementedError

    @property
    def w_dim(self) -> int:
        raise NotImplementedError

    def mean_w(self, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The centre that truncation pulls towards, shape ``[1 or B, num_ws, w_dim]``."""
        raise NotImplementedError

    def map(
        self,
        z: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        truncation_psi: float = 1.0,
    ) -> torch.Tensor:
        """``z [B, latent_dim]`` -> ``w [B, num_ws, w_dim]``, truncated towards ``mean_w``."""
        raise NotImplementedError

    def synthesize(self, w: torch.Tensor, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``w [B, num_ws, w_dim]`` -> images ``[B, 3, R, R]`` in ``[-1, 1]``."""
        raise NotImplementedError

    def forward(
        self,
        z: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        truncation_psi: float = 1.0,
    ) -> torch.Tensor:
        return self.synthesize(self.map(z, class_labels, truncation_psi), class_labels)

    def check_z(self, z: torch.Tensor) -> None:
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"z must have shape [B, {self.config.latent_dim}], got {tuple(z.shape)}")

    def check_class_labels(self, class_labels: Optional[torch.Tensor], batch_size: int) -> Optional[torch.Tensor]:
        """Validate labels against the model's ``num_classes`` so a wrong label fails loudly, not as an index error."""
        num_classes = self.config.num_classes
        if num_classes == 0:
            if class_labels is not None:
                raise ValueError("this model is unconditional; do not pass class_labels")
            return None
        if class_labels is None:
            raise ValueError(f"this model is class-conditional ({num_classes} classes); pass class_labels")
        class_labels = torch.as_tensor(class_labels, dtype=torch.long).reshape(-1)
        if class_labels.numel() == 1 and batch_size > 1:
            class_labels = class_labels.expand(batch_size)
        if class_labels.numel() != batch_size:
            raise ValueError(f"got {class_labels.numel()} class labels for a batch of {batch_size}")
        # (Skipped while tracing for ONNX export: the values are data, unknown to the tracer.)
        if not torch.compiler.is_compiling() and (int(class_labels.min()) < 0 or int(class_labels.max()) >= num_classes):
            raise ValueError(f"class labels must be in [0, {num_classes - 1}], got {class_labels.tolist()}")
        return class_labels


class LatentIsStyleGenerator(NoiseGenerator):
    """The :class:`NoiseGenerator` contract for generators without a mapping network (DCGAN, FastGAN).

    ``w`` is ``z`` with a singleton layer axis, and truncation pulls towards the prior's mean, 0.
    A subclass builds ``self.class_embedding`` (an ``nn.Embedding`` or None) and its network, and
    its ``synthesize`` starts from :meth:`network_input`.
    """

    supports_style_mixing = False

    def build_input(self, resolution: int, latent_dim: int, base_channels: int, num_classes: int) -> int:
        """Check the constructor arguments every such generator takes and build its class embedding;
        returns the width of the network's input (z, plus the embedding when conditional)."""
        check_resolution(resolution)
        check_positive("latent_dim", latent_dim)
        check_positive("base_channels", base_channels)
        check_num_classes(num_classes)
        self.class_embedding = nn.Embedding(num_classes, latent_dim) if num_classes > 0 else None
        return latent_dim * (2 if num_classes > 0 else 1)

    @property
    def num_ws(self) -> int:
        return 1

    @property
    def w_dim(self) -> int:
        return self.config.latent_dim

    def mean_w(self, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Zeros: the mean of the N(0, I) prior, which is what truncation in z pulls towards."""
        return torch.zeros(1, 1, self.config.latent_dim, device=self.device, dtype=self.dtype)

    def map(
        self,
        z: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        truncation_psi: float = 1.0,
    ) -> torch.Tensor:
        """``z [B, latent_dim]`` -> ``(psi * z)[:, None]``; labels are only validated here."""
        self.check_z(z)
        self.check_class_labels(class_labels, z.shape[0])
        return truncate(z, torch.zeros((), dtype=z.dtype, device=z.device), truncation_psi).unsqueeze(1)

    def network_input(self, w: torch.Tensor, class_labels: Optional[torch.Tensor]) -> torch.Tensor:
        """``w [B, 1, latent_dim]`` -> z, with the class embedding appended for a conditional model."""
        if w.ndim != 3 or w.shape[1] != 1 or w.shape[2] != self.config.latent_dim:
            raise ValueError(f"w must have shape [B, 1, {self.config.latent_dim}], got {tuple(w.shape)}")
        z = w[:, 0]
        class_labels = self.check_class_labels(class_labels, z.shape[0])
        if self.class_embedding is not None:
            z = torch.cat([z, self.class_embedding(class_labels.to(z.device))], dim=1)
        return z
