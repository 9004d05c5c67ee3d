"""One adapter per model family: what the generic loop cannot know.

The loop (``training/loop.py``) owns optimisers, accumulation, EMA, checkpoints and outputs; an
adapter says how to build the family's G and D from the config, what one step's D and G losses
are, what a sample grid shows, how FID images are generated and which pipeline class saves it.

DDP note: the D loss runs the *prepared* (possibly DDP-wrapped) D and makes fakes with the raw G
under ``no_grad``; the G loss runs the prepared G and the raw D with D's parameters frozen. Each
wrapped model is thus only called in the phase whose gradients it synchronises.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from training import losses
from training.augment import diff_augment
from training.config import ConfigError, TrainConfig
from training.batches import Batch
from training.data import TrainData, uint8_to_float
from zoo.latents import latents_from_seed, stream_seed

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

    # --- construction ---------------------------------------------------------------------
    def latent_dim(self, cfg: TrainConfig) -> Optional[int]:
        return cfg.latent_dim if cfg.latent_dim is not None else self.default_latent_dim

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


# ------------------------------------------------------------------------------------------------
# Noise -> image families (DCGAN, StyleGAN)
# ------------------------------------------------------------------------------------------------


class _NoiseFamily(Family):
    def discriminator_options(self, cfg: TrainConfig) -> dict[str, Any]:
        """Config keys the family's discriminator takes beyond resolution, width and classes."""
        return {}

    def build_generator(self, cfg: TrainConfig, data: TrainData) -> nn.Module:
        generator_class, _ = self.model_classes()
        extra = _check_kwargs(generator_class, cfg.generator_kwargs, self.reserved_g, "generator_kwargs")
        return generator_class(
            resolution=cfg.resolution, latent_dim=self.latent_dim(cfg), base_channels=cfg.base_channels,
            num_classes=data.num_classes, **extra,
        )

    def build_discriminator(self, cfg: TrainConfig, data: TrainData) -> nn.Module:
        discriminator_class, extra = self.discriminator_with_kwargs(cfg)
        if cfg.discriminator == "projected":
            return discriminator_class(
                resolution=cfg.resolution, num_classes=data.num_classes, class_head=cfg.class_head, **extra
            )
        return discriminator_class(
            resolution=cfg.resolution, base_channels=cfg.d_channels, num_classes=data.num_classes,
            **self.discriminator_options(cfg), **extra,
        )

    def _fakes_for_d(self, ctx: StepContext, batch: Batch) -> torch.Tensor:
        z = ctx.noise(batch.images.shape[0], ctx.G_raw.config.latent_dim)
        with torch.no_grad():
            return self._generate(ctx, ctx.G_raw, z, batch.labels, update_w_avg=True)

    def _generate(self, ctx: StepContext, G: nn.Module, z: torch.Tensor, labels, update_w_avg: bool = False) -> torch.Tensor:
        """One training forward of G; families with per-layer styles override it (style mixing)."""
        return G(z, labels)

    def d_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        fake = self._fakes_for_d(ctx, batch)
        real = batch.images
        if ctx.r1_weight > 0:
            real = real.detach().requires_grad_(True)
        real_out = ctx.D(ctx.augment(real), batch.labels)
        fake_out = ctx.D(ctx.augment(fake), batch.labels)
        return _sum_terms(
            {
                "d_adv": losses.d_adversarial(real_out.logits, fake_out.logits, ctx.cfg.loss),
                "d_class": self._class_term(ctx, real_out.class_logits, batch.labels),
                "r1": _r1(ctx, real_out.logits, real),
            }
        )

    def g_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        z = ctx.noise(batch.images.shape[0], ctx.G_raw.config.latent_dim)
        fake = self._generate(ctx, ctx.G, z, batch.labels)
        out = ctx.D_raw(ctx.augment(fake), batch.labels)
        mode_seeking = None
        if ctx.cfg.lambda_ms > 0:
            mode_seeking = losses.mode_seeking(fake, z) * ctx.cfg.lambda_ms
        return _sum_terms(
            {
                "g_adv": losses.g_adversarial(out.logits, ctx.cfg.loss),
                "g_class": self._class_term(ctx, out.class_logits, batch.labels),
                "g_ms": mode_seeking,
            }
        )

    @staticmethod
    def _class_term(ctx: StepContext, class_logits, labels) -> Optional[torch.Tensor]:
        term = losses.class_loss(class_logits, labels)
        return None if term is None else term * ctx.cfg.lambda_class

    def fixed_inputs(self, G: nn.Module, data: TrainData, n: int) -> dict[str, Any]:
        """Seeds 0..n-1 (as ``GANSamplingPipeline(seed=0)`` draws them); classes cycle along the grid."""
        dim = G.config.latent_dim
        z = torch.cat([latents_from_seed(s, dim) for s in range(n)])
        labels = torch.arange(n) % data.num_classes if data.num_classes else None
        return {"z": z, "labels": labels, "class_names": data.class_names}

    def sample_grid(self, G: nn.Module, fixed: dict[str, Any], device: torch.device) -> tuple[torch.Tensor, int]:
        labels = None if fixed["labels"] is None else fixed["labels"].to(device)
        with torch.no_grad():
            images = G(fixed["z"].to(device), labels)
        n = images.shape[0]
        # Conditional: one class per column (labels cycle), so each column shows one class.
        ncol = min(len(fixed["class_names"]), n) if labels is not None else fixed_ncol(n)
        return images.float().cpu(), ncol

    def fid_generate_fn(self, G: nn.Module, data: TrainData, device: torch.device) -> GenerateFn:
        train_labels = data.labels[data.train_idx] if data.labels is not None else None

        def generate(n: int, gen: torch.Generator) -> torch.Tensor:
            z = torch.randn(n, G.config.latent_dim, generator=gen)
            labels = None
            if train_labels is not None:  # the training class frequencies
                labels = train_labels[torch.randint(0, len(train_labels), (n,), generator=gen)].to(device)
            return G(z.to(device), labels).float().clamp(-1, 1)

        return generate

    def condition_generate_fns(self, G: nn.Module, data: TrainData, device: torch.device, limit: int) -> list[GenerateFn]:
        def for_class(label: int) -> GenerateFn:
            def generate(n: int, gen: torch.Generator) -> torch.Tensor:
                z = torch.randn(n, G.config.latent_dim, generator=gen)
                return G(z.to(device), torch.full((n,), label, device=device)).float().clamp(-1, 1)

            return generate

        return [for_class(c) for c in range(min(data.num_classes, limit))]

    def faithfulness(self, G: nn.Module, data: TrainData, context, extract, device: torch.device) -> Optional[dict[str, Any]]:
        """Class accuracy: the probe of the attribute whose classes are the model's class names."""
        probes = context.probes
        names = sorted(data.class_names)
        probe = next((p for p in probes.values() if sorted(p.classes) == names), None)
        if probe is None or not data.num_classes:
            return None
        fns, per_class = self.condition_generate_fns(G, data, device, data.num_classes), 64
        features, wanted = [], []
        for label, fn in enumerate(fns):
            with torch.no_grad():
                features.append(extract(fn(per_class, torch.Generator().manual_seed(label))))
            wanted += [data.class_names[label]] * per_class
        return {"attribute": probe.name, "class_accuracy": probe.accuracy(torch.cat(features), wanted),
                "probe_ceiling": probe.ceiling, "per_class": per_class}

    def make_pipeline(self, G: nn.Module):
        from zoo.pipelines import GANSamplingPipeline

        return GANSamplingPipeline(generator=G)


def fixed_ncol(n: int) -> int:
    return max(1, int(math.ceil(math.sqrt(n))))


class DCGANFamily(_NoiseFamily):
    name = "dcgan"
    default_latent_dim = 128
    reserved_g = {"resolution", "latent_dim", "base_channels", "num_classes"}
    reserved_d = {"resolution", "base_channels", "num_classes", "class_head", "spectral_norm"}

    def model_classes(self) -> tuple[type, type]:
        from zoo.models.dcgan import DCGANDiscriminator, DCGANGenerator

        return DCGANGenerator, DCGANDiscriminator

    def discriminator_options(self, cfg: TrainConfig) -> dict[str, Any]:
        return {"class_head": cfg.class_head, "spectral_norm": cfg.spectral_norm}


class StyleGANFamily(_NoiseFamily):
    name = "stylegan"
    default_latent_dim = 256
    reserved_g = {"resolution", "latent_dim", "base_channels", "num_classes"}
    reserved_d = {"resolution", "base_channels", "num_classes"}

    def model_classes(self) -> tuple[type, type]:
        from zoo.models.stylegan import StyleGANDiscriminator, StyleGANGenerator

        return StyleGANGenerator, StyleGANDiscriminator

    def _generate(self, ctx: StepContext, G: nn.Module, z: torch.Tensor, labels, update_w_avg: bool = False) -> torch.Tensor:
        """Map and synthesise separately: D's fakes update the truncation centre ``w_avg``, and with
        ``style_mixing_prob`` a share of the batch takes its later layers' styles from a second latent
        (StyleGAN2's mixing regularisation), so the app's style mixing is something the model learned.
        """
        p = ctx.cfg.style_mixing_prob
        if G is not ctx.G_raw:  # DDP: only the wrapper's forward synchronises gradients
            if p > 0:
                raise RuntimeError("style_mixing_prob > 0 is supported in single-process runs only")
            return G(z, labels)
        w = G.map(z, labels)
        if update_w_avg:
            G.update_w_avg(w)
        if p > 0 and w.shape[1] > 1:
            n, rng = z.shape[0], ctx.device_rng
            w2 = G.map(ctx.noise(n, z.shape[1]), labels)
            cut = torch.randint(1, w.shape[1], (n, 1, 1), generator=rng, device=rng.device).to(w.device)
            mixed = torch.rand(n, 1, 1, generator=rng, device=rng.device).to(w.device) < p
            layer = torch.arange(w.shape[1], device=w.device).view(1, -1, 1)
            w = torch.where(mixed & (layer >= cut), w2, w)
        return G.synthesize(w, labels)


# ------------------------------------------------------------------------------------------------
# Sketch -> photo (pix2pix)
# ------------------------------------------------------------------------------------------------


class Pix2PixFamily(Family):
    name = "pix2pix"
    reserved_g = {"resolution", "base_channels"}
    reserved_d = {"base_channels", "num_classes", "spectral_norm", "in_channels"}

    def model_classes(self) -> tuple[type, type]:
        from zoo.models.pix2pix import PatchGANDiscriminator, UNetGenerator

        return UNetGenerator, PatchGANDiscriminator

    def build_generator(self, cfg: TrainConfig, data: TrainData) -> nn.Module:
        from zoo.models.pix2pix import UNetGenerator

        extra = _check_kwargs(UNetGenerator, cfg.generator_kwargs, self.reserved_g, "generator_kwargs")
        return UNetGenerator(resolution=cfg.resolution, base_channels=cfg.base_channels, **extra)

    def projected_class(self) -> type:
        from zoo.models.projected import SketchProjectedDiscriminator

        return SketchProjectedDiscriminator

    def build_discriminator(self, cfg: TrainConfig, data: TrainData) -> nn.Module:
        cls, extra = self.discriminator_with_kwargs(cfg)
        if cfg.discriminator == "projected":  # the photo through frozen features, the sketch beside each stage
            return cls(resolution=cfg.resolution, num_classes=data.num_classes, class_head=cfg.class_head, **extra)
        return cls(  # PatchGANDiscriminator
            in_channels=6, base_channels=cfg.d_channels, num_classes=data.num_classes,
            spectral_norm=cfg.spectral_norm, **extra,
        )

    def d_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        with torch.no_grad():
            fake = ctx.G_raw(batch.sketches)
        real = batch.images
        if ctx.r1_weight > 0:
            real = real.detach().requires_grad_(True)
        real_out = ctx.D(*ctx.augment_pair(batch.sketches, real), batch.labels)
        fake_out = ctx.D(*ctx.augment_pair(batch.sketches, fake), batch.labels)
        class_term = losses.class_loss(real_out.class_logits, batch.labels)
        return _sum_terms(
            {
                "d_adv": losses.d_adversarial(real_out.logits, fake_out.logits, ctx.cfg.loss),
                "d_class": None if class_term is None else class_term * ctx.cfg.lambda_class,
                "r1": _r1(ctx, real_out.logits, real),
            }
        )

    def g_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        fake = ctx.G(batch.sketches)
        out = ctx.D_raw(*ctx.augment_pair(batch.sketches, fake), batch.labels)
        class_term = losses.class_loss(out.class_logits, batch.labels)
        return _sum_terms(
            {
                "g_adv": losses.g_adversarial(out.logits, ctx.cfg.loss),
                "l1": losses.l1_loss(fake, batch.images) * ctx.cfg.lambda_l1,
                "g_class": None if class_term is None else class_term * ctx.cfg.lambda_class,
            }
        )

    @staticmethod
    def _pairs(data: TrainData, n: int, prefer_heldout: bool = True) -> torch.Tensor:
        idx = data.heldout_idx if (prefer_heldout and len(data.heldout_idx)) else data.train_idx
        return idx[torch.arange(n) % len(idx)]

    def fixed_inputs(self, G: nn.Module, data: TrainData, n: int) -> dict[str, Any]:
        """Held-out sketches (never trained on), with their real photos for comparison."""
        idx = self._pairs(data, min(n, 8))
        return {"sketches": uint8_to_float(data.sketches[idx]), "photos": uint8_to_float(data.images[idx])}

    def sample_grid(self, G: nn.Module, fixed: dict[str, Any], device: torch.device) -> tuple[torch.Tensor, int]:
        """Three rows: input sketches, generated photos, real photos."""
        with torch.no_grad():
            fake = G(fixed["sketches"].to(device)).float().cpu()
        return torch.cat([fixed["sketches"], fake, fixed["photos"]]), fixed["sketches"].shape[0]

    def fid_generate_fn(self, G: nn.Module, data: TrainData, device: torch.device) -> GenerateFn:
        """Training people's sketches, in the run's mix of styles (so BatchNorm statistics re-estimated
        through this sampler describe every style the model is used with)."""
        from training.batches import sketch_rows

        def generate(n: int, gen: torch.Generator) -> torch.Tensor:
            idx = data.train_idx[torch.randint(0, len(data.train_idx), (n,), generator=gen)]
            return G(uint8_to_float(sketch_rows(data, idx, gen)).to(device)).float().clamp(-1, 1)

        return generate

    def condition_generate_fns(self, G: nn.Module, data: TrainData, device: torch.device, limit: int) -> list[GenerateFn]:
        """One held-out sketch each; the U-Net has no noise input, so any variety comes from dropout."""
        idx = self._pairs(data, limit)

        def for_sketch(i: int) -> GenerateFn:
            def generate(n: int, gen: torch.Generator) -> torch.Tensor:
                return G(uint8_to_float(data.sketches[i : i + 1]).expand(n, -1, -1, -1).to(device)).float().clamp(-1, 1)

            return generate

        return [for_sketch(int(i)) for i in idx.unique()]

    def faithfulness(self, G: nn.Module, data: TrainData, context, extract, device: torch.device) -> Optional[dict[str, Any]]:
        """Per input style (edges, landmark drawings, doodles) on held-out people: training/faithfulness.py."""
        from training.faithfulness import sketch_faithfulness

        return {"sketch_styles": sketch_faithfulness(G, data, context.rows, context.landmarks, context.train_features,
                                                     extract, device)}

    def paired_eval(self, G: nn.Module, data: TrainData, device: torch.device) -> dict[str, Any]:
        """L1/SSIM on held-out pairs, and the mean-face baseline they should beat."""
        from training.metrics import mean_image_baseline, paired_metrics

        if len(data.heldout_idx) == 0:
            return {"l1": None, "ssim": None, "baseline_l1": None, "baseline_ssim": None, "num_heldout": 0}
        targets = uint8_to_float(data.images[data.heldout_idx])
        preds = []
        with torch.no_grad():
            for i in range(0, len(data.heldout_idx), 64):
                idx = data.heldout_idx[i : i + 64]
                preds.append(G(uint8_to_float(data.sketches[idx]).to(device)).float().clamp(-1, 1).cpu())
        model = paired_metrics(torch.cat(preds), targets)
        baseline = mean_image_baseline(data.train_images_float(), targets)
        return {
            "l1": model["l1"],
            "ssim": model["ssim"],
            "baseline_l1": baseline["l1"],
            "baseline_ssim": baseline["ssim"],
            "num_heldout": int(len(data.heldout_idx)),
        }

    def make_pipeline(self, G: nn.Module):
        from zoo.pipelines import Sketch2PhotoPipeline

        return Sketch2PhotoPipeline(generator=G)


# ------------------------------------------------------------------------------------------------
# Text -> image (StackGAN-style textgan)
# ------------------------------------------------------------------------------------------------


class StageDiscriminators(nn.Module):
    """One text-matching D per generator stage (64 and 128 px for a two-stage model).

    Kept as one module so the loop sees a single D with a single optimiser and checkpoint entry.
    """

    def __init__(self, discriminators: list[nn.Module]):
        super().__init__()
        self.stages = nn.ModuleList(discriminators)

    def forward(self, images: list[torch.Tensor], text_embeds: torch.Tensor) -> list:
        return [d(x, text_embeds) for d, x in zip(self.stages, images)]


def _downsample_to(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="area")


class TextGANFamily(Family):
    name = "textgan"
    default_latent_dim = 100
    reserved_g = {"resolution", "latent_dim", "base_channels", "text_embed_dim", "text_encoder"}
    reserved_d = {"resolution", "text_embed_dim", "base_channels"}

    def model_classes(self) -> tuple[type, type]:
        from zoo.models.textgan import TextConditionalGenerator, TextMatchingDiscriminator

        return TextConditionalGenerator, TextMatchingDiscriminator

    def projected_class(self) -> type:
        from zoo.models.projected import TextProjectedDiscriminator

        return TextProjectedDiscriminator

    @staticmethod
    def stage_resolutions(cfg: TrainConfig) -> list[int]:
        refine = int(cfg.generator_kwargs.get("refine_resolution", 0) or 0)
        return [cfg.resolution] + ([refine] if refine else [])

    def build_generator(self, cfg: TrainConfig, data: TrainData) -> nn.Module:
        from zoo.models.textgan import TextConditionalGenerator

        extra = _check_kwargs(TextConditionalGenerator, cfg.generator_kwargs, self.reserved_g, "generator_kwargs")
        return TextConditionalGenerator(
            resolution=cfg.resolution, latent_dim=self.latent_dim(cfg), text_embed_dim=int(data.text_embeds.shape[1]),
            base_channels=cfg.base_channels, text_encoder=cfg.text_encoder, **extra,
        )

    def build_discriminator(self, cfg: TrainConfig, data: TrainData) -> nn.Module:
        dim = int(data.text_embeds.shape[1])
        cls, extra = self.discriminator_with_kwargs(cfg)
        if cfg.discriminator == "projected":  # caption embedding projected into every head
            return StageDiscriminators([cls(resolution=r, condition_dim=dim, **extra) for r in self.stage_resolutions(cfg)])
        return StageDiscriminators(  # TextMatchingDiscriminator per stage
            [cls(resolution=r, text_embed_dim=dim, base_channels=cfg.d_channels, **extra) for r in self.stage_resolutions(cfg)]
        )

    def _stages(self, ctx: StepContext, images: torch.Tensor) -> list[torch.Tensor]:
        return [_downsample_to(images, r) for r in self.stage_resolutions(ctx.cfg)]

    def d_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        n = batch.images.shape[0]
        z = ctx.noise(n, ctx.G_raw.config.latent_dim)
        ca = ctx.noise(n, ctx.G_raw.config.condition_dim)
        with torch.no_grad():
            fakes = ctx.G_raw(z, batch.text_embeds, ca_noise=ca, return_all_stages=True)
        real_in = self._stages(ctx, batch.images)
        if ctx.r1_weight > 0:
            real_in = [r.detach().requires_grad_(True) for r in real_in]
        real_aug = [ctx.augment(r) for r in real_in]
        real_out = ctx.D(real_aug, batch.text_embeds)
        fake_out = ctx.D([ctx.augment(f) for f in fakes], batch.text_embeds)
        wrong_out = ctx.D(real_aug, batch.mismatch_embeds)
        kind, w = ctx.cfg.loss, ctx.cfg.mismatch_weight
        cond = sum(losses.matching_aware_d_loss(r.logits, f.logits, m.logits, kind, w) for r, f, m in zip(real_out, fake_out, wrong_out))
        # class_logits of TextMatchingDiscriminator are its *unconditional* real/fake logits.
        uncond = sum(losses.d_adversarial(r.class_logits, f.class_logits, kind) for r, f in zip(real_out, fake_out))
        r1 = None
        if ctx.r1_weight > 0:
            r1 = sum(_r1(ctx, r.logits, x) for r, x in zip(real_out, real_in))
        return _sum_terms({"d_cond": cond, "d_uncond": uncond, "r1": r1})

    def g_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        n = batch.images.shape[0]
        embeds = batch.text_embeds
        if ctx.cfg.lambda_ms > 0:
            # Mode seeking pairs row i with row i + n/2: give both halves the same captions so the term
            # measures what the app shows, the variety of faces for one prompt across seeds.
            half = n // 2
            embeds = torch.cat([embeds[:half], embeds[:half], embeds[2 * half :]])
        z = ctx.noise(n, ctx.G_raw.config.latent_dim)
        ca = ctx.noise(n, ctx.G_raw.config.condition_dim)
        fakes = ctx.G(z, embeds, ca_noise=ca, return_all_stages=True)
        # CA is a single linear layer: recomputing mu/logvar for the KL term is cheaper than a wrapper.
        _, mu, logvar = ctx.G_raw.condition(embeds, ca)
        outs = ctx.D_raw([ctx.augment(f) for f in fakes], embeds)
        kind = ctx.cfg.loss
        adv = sum(losses.g_adversarial(o.logits, kind) + losses.g_adversarial(o.class_logits, kind) for o in outs)
        mode_seeking = None
        if ctx.cfg.lambda_ms > 0:  # on the final stage, with z and the CA noise as the latent
            mode_seeking = losses.mode_seeking(fakes[-1], torch.cat([z, ca], dim=1)) * ctx.cfg.lambda_ms
        return _sum_terms({"g_adv": adv, "kl": losses.kl_loss(mu, logvar) * ctx.cfg.lambda_kl, "g_ms": mode_seeking})

    def fixed_inputs(self, G: nn.Module, data: TrainData, n: int) -> dict[str, Any]:
        """Distinct held-out captions (unseen people), cycled; noise from seeds 0..n-1 like the pipeline."""
        idx = data.heldout_idx if len(data.heldout_idx) else data.train_idx
        seen, rows = set(), []
        for i in idx.tolist():
            if data.captions[i] not in seen:
                seen.add(data.captions[i])
                rows.append(i)
        rows = [rows[k % len(rows)] for k in range(n)]
        dim, cond_dim = G.config.latent_dim, G.config.condition_dim
        return {
            "z": torch.cat([latents_from_seed(s, dim) for s in range(n)]),
            # Same convention as Text2ImagePipeline: CA noise from an independent stream of the seed.
            "ca_noise": torch.cat([latents_from_seed(stream_seed(s, 1), cond_dim) for s in range(n)]),
            "text_embeds": data.text_embeds[rows],
            "captions": [data.captions[i] for i in rows],
        }

    def sample_grid(self, G: nn.Module, fixed: dict[str, Any], device: torch.device) -> tuple[torch.Tensor, int]:
        with torch.no_grad():
            images = G(fixed["z"].to(device), fixed["text_embeds"].to(device), ca_noise=fixed["ca_noise"].to(device))
        return images.float().cpu(), fixed_ncol(images.shape[0])

    def fid_generate_fn(self, G: nn.Module, data: TrainData, device: torch.device) -> GenerateFn:
        embeds = data.text_embeds[data.train_idx]

        def generate(n: int, gen: torch.Generator) -> torch.Tensor:
            idx = torch.randint(0, len(embeds), (n,), generator=gen)
            z = torch.randn(n, G.config.latent_dim, generator=gen)
            return G(z.to(device), embeds[idx].to(device)).float().clamp(-1, 1)

        return generate

    def condition_generate_fns(self, G: nn.Module, data: TrainData, device: torch.device, limit: int) -> list[GenerateFn]:
        """One held-out caption each, with z and the conditioning-augmentation noise both drawn per image."""
        rows = self.fixed_inputs(G, data, limit)["text_embeds"]

        def for_caption(embed: torch.Tensor) -> GenerateFn:
            def generate(n: int, gen: torch.Generator) -> torch.Tensor:
                z = torch.randn(n, G.config.latent_dim, generator=gen)
                ca = torch.randn(n, G.config.condition_dim, generator=gen)
                e = embed[None].expand(n, -1).to(device)
                return G(z.to(device), e, ca_noise=ca.to(device)).float().clamp(-1, 1)

            return generate

        return [for_caption(rows[i]) for i in range(len(rows))]

    def faithfulness(self, G: nn.Module, data: TrainData, context, extract, device: torch.device) -> Optional[dict[str, Any]]:
        """Attribute accuracy for prompts, sampled exactly as the app samples (the pipeline with seeds)."""
        from training.faithfulness import text_faithfulness

        probes = context.probes
        pipe = self.make_pipeline(G)

        def generate(prompts: list[str], n: int) -> torch.Tensor:
            return pipe(prompts, num_images_per_prompt=n, seed=0, output_type="pt").images * 2 - 1

        result = text_faithfulness(generate, extract, probes)
        result["probe_ceiling"] = {name: p.ceiling for name, p in probes.items()}
        return result

    def make_pipeline(self, G: nn.Module):
        from zoo.pipelines import Text2ImagePipeline

        return Text2ImagePipeline(generator=G)


FAMILIES: dict[str, Family] = {f.name: f for f in (DCGANFamily(), StyleGANFamily(), Pix2PixFamily(), TextGANFamily())}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"family must be one of {', '.join(FAMILIES)}; got {name!r}")
    return FAMILIES[name]
