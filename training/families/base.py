"""The family adapter base class, the step context its loss functions get, and shared helpers.

See :mod:`training.families` for what an adapter is for; one module per family holds the rest.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
from torch import nn

from training import losses
from training.augment import diff_augment
from training.config import ConfigError, TrainConfig
from training.batches import Batch
from training.data import TrainData

Logs = dict[str, torch.Tensor]
GenerateFn = Callable[[int, torch.Generator], torch.Tensor]


@dataclass
class StepContext:
    """What a family's loss functions may use during one step."""

    G: nn.Module  # prepared generator (DDP in multi-process runs)
    G_raw: nn.Module
    D: nn.Module  # prepared discriminator
    D_raw: nn.Module
    cfg: TrainConfig
    step: int
    rng: torch.Generator  # CPU generator seeded from (seed, step, rank): batch flips and caption draws
    device: torch.device
    r1_weight: float = 0.0
    #: Generator on the training device for noise and augmentation (drawing on the device avoids a
    #: host->device copy, and with it a stream sync, per random tensor); defaults to ``rng``.
    device_rng: Optional[torch.Generator] = None

    def __post_init__(self) -> None:
        if self.device_rng is None:
            self.device_rng = self.rng

    def noise(self, n: int, dim: int) -> torch.Tensor:
        return torch.randn(n, dim, generator=self.device_rng, device=self.device_rng.device).to(self.device)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.cfg.diffaugment_policies, self.device_rng)

    def augment_pair(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same random transform on both (a sketch must stay aligned with its photo)."""
        state = self.device_rng.get_state()
        out_a = self.augment(a)
        self.device_rng.set_state(state)
        return out_a, self.augment(b)


def _check_kwargs(cls: type, given: dict[str, Any], reserved: set[str], what: str) -> dict[str, Any]:
    """Extra constructor arguments from the config, checked against the class signature."""
    params: set[str] = set()
    for klass in cls.__mro__:  # a subclass taking **kwargs passes them on to its parent
        if "__init__" not in vars(klass):
            continue
        signature = inspect.signature(klass.__init__).parameters
        params |= {n for n, p in signature.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)} - {"self"}
        if not any(p.kind == p.VAR_KEYWORD for p in signature.values()):
            break
    for key in given:
        if key in reserved:
            raise ConfigError(f"{what}.{key} is set from the top-level config; use --{key} or the family's own key instead")
        if key not in params:
            allowed = sorted(params - reserved)
            raise ConfigError(f"{what}: {cls.__name__} has no argument {key!r}; allowed: {allowed}")
    return dict(given)


def _r1(ctx: StepContext, real_logits: torch.Tensor, real_input: torch.Tensor) -> Optional[torch.Tensor]:
    if ctx.r1_weight <= 0:
        return None
    return losses.r1_penalty(real_logits, real_input) * ctx.r1_weight


def _class_term(ctx: StepContext, class_logits: Optional[torch.Tensor], labels: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """The auxiliary classifier's weighted loss; None without a classifier head or labels."""
    term = losses.class_loss(class_logits, labels)
    return None if term is None else term * ctx.cfg.lambda_class


def _sum_terms(terms: dict[str, Optional[torch.Tensor]]) -> tuple[torch.Tensor, Logs]:
    present = {k: v for k, v in terms.items() if v is not None}
    total = sum(present.values())
    return total, {k: v.detach() for k, v in present.items()}


#: ProjectedDiscriminator arguments that come from top-level config keys.
PROJECTED_RESERVED = {"resolution", "num_classes", "class_head", "condition_dim", "condition_channels"}


class Family:
    """Base adapter. Subclasses fill in the family-specific parts."""

    name: str = ""
    default_latent_dim: Optional[int] = None
    #: Constructor arguments the trainer sets from top-level config keys (not allowed in *_kwargs).
    reserved_g: set[str] = set()
    reserved_d: set[str] = set()
    #: Model sizes for the tiny preset, ``(generator_kwargs, discriminator_kwargs)``, merged under any
    #: user kwargs by :func:`training.config.build_config`.
    tiny_model_kwargs: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    #: What the family's models offer, for the config rules below.
    noise_input: bool = False  # lambda_ms (mode seeking) needs a noise input
    style_mixing: bool = False  # style_mixing_prob needs per-layer styles
    spectral_norm_option: bool = False  # the classic D has a spectral_norm switch

    # --- config rules (training.config.validate calls them in this order, between its own checks) ---
    def check_inputs(self, cfg: TrainConfig) -> None:
        """What the family takes besides the photos; only pix2pix takes sketches."""
        if cfg.sketch_source != "none":
            raise ConfigError(f"sketch_source is only used by pix2pix; family {cfg.family!r} needs sketch_source 'none'")

    def check_captions(self, cfg: TrainConfig) -> None:
        """Caption settings; only textgan uses captions."""
        if cfg.caption_column or cfg.caption_template or cfg.caption_paraphrases or cfg.caption_words or cfg.counterfactual_fields:
            raise ConfigError("caption_column/caption_template/caption_paraphrases/caption_words/counterfactual_fields "
                              f"are only used by textgan, not {cfg.family!r}")

    def check_options(self, cfg: TrainConfig) -> None:
        """Loss and discriminator options the family's models must support."""
        if cfg.lambda_ms > 0 and not self.noise_input:
            raise ConfigError(f"lambda_ms (mode seeking) needs a noise input (dcgan, stylegan, fastgan, textgan), not {cfg.family!r}")
        if cfg.style_mixing_prob > 0 and not self.style_mixing:
            raise ConfigError(f"style_mixing_prob needs per-layer styles (stylegan), not {cfg.family!r}")
        if cfg.spectral_norm and not self.spectral_norm_option:
            raise ConfigError(f"spectral_norm is available for dcgan and pix2pix discriminators, not {cfg.family!r}")

    # --- construction ---------------------------------------------------------------------
    def latent_dim(self, cfg: TrainConfig) -> Optional[int]:
        return cfg.latent_dim if cfg.latent_dim is not None else self.default_latent_dim

    def data_resolution(self, cfg: TrainConfig) -> int:
        """The size images are cached at (:func:`training.data.data_resolution`)."""
        return cfg.resolution

    def task(self, data: TrainData) -> str:
        """The task id from the family table in zoo.families (one vocabulary for trainer, cards and app)."""
        from zoo import families as family_table

        return family_table.family(self.name).task

    def check_config(self, cfg: TrainConfig) -> None:
        """Fail on bad generator/discriminator kwargs before any data is decoded."""
        g_cls, _ = self.model_classes()
        _check_kwargs(g_cls, cfg.generator_kwargs, self.reserved_g, "generator_kwargs")
        self.discriminator_with_kwargs(cfg)

    def discriminator_with_kwargs(self, cfg: TrainConfig) -> tuple[type, dict[str, Any]]:
        """The D class the config asks for and its checked ``discriminator_kwargs``."""
        cls, reserved = self.discriminator_class(cfg)
        return cls, _check_kwargs(cls, cfg.discriminator_kwargs, reserved, "discriminator_kwargs")

    def discriminator_class(self, cfg: TrainConfig) -> tuple[type, set[str]]:
        """The D class the config asks for and the constructor arguments the trainer sets itself."""
        if cfg.discriminator == "projected":
            return self.projected_class(), PROJECTED_RESERVED
        return self.model_classes()[1], self.reserved_d

    def projected_class(self) -> type:
        """This family's projected discriminator (the plain one judges images with optional classes)."""
        from zoo.models.projected import ProjectedDiscriminator

        return ProjectedDiscriminator

    def model_classes(self) -> tuple[type, type]:
        raise NotImplementedError

    def build_generator(self, cfg: TrainConfig, data: TrainData) -> nn.Module:
        raise NotImplementedError

    def build_discriminator(self, cfg: TrainConfig, data: TrainData) -> nn.Module:
        raise NotImplementedError

    # --- training ---------------------------------------------------------------------------
    def d_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError

    def g_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError

    # --- outputs ----------------------------------------------------------------------------
    def fixed_inputs(self, G: nn.Module, data: TrainData, n: int) -> dict[str, Any]:
        """The inputs of every sample grid of the run (fixed, so grids differ only by training)."""
        raise NotImplementedError

    def sample_grid(self, G: nn.Module, fixed: dict[str, Any], device: torch.device) -> tuple[torch.Tensor, int]:
        """(images ``[N, 3, R, R]`` in ``[-1, 1]``, images per row)."""
        raise NotImplementedError

    def fid_generate_fn(self, G: nn.Module, data: TrainData, device: torch.device) -> GenerateFn:
        raise NotImplementedError

    def fid_real_images(self, data: TrainData) -> torch.Tensor:
        return data.train_images_float()

    def faithfulness(self, G: nn.Module, data: TrainData, context, extract, device: torch.device) -> Optional[dict[str, Any]]:
        """How well outputs follow their condition (training/faithfulness.py; ``context`` holds the
        attribute probes, metadata rows and real features); ``None`` for unconditional models."""
        return None

    def condition_generate_fns(self, G: nn.Module, data: TrainData, device: torch.device, limit: int) -> list[GenerateFn]:
        """Samplers that each hold one condition fixed (a class, a sketch, a caption) and vary the
        seed, for within-condition diversity; empty for unconditional models."""
        return []

    def paired_eval(self, G: nn.Module, data: TrainData, device: torch.device) -> dict[str, Any]:
        return {}

    def make_pipeline(self, G: nn.Module):
        raise NotImplementedError


def fixed_ncol(n: int) -> int:
    return max(1, int(math.ceil(math.sqrt(n))))
