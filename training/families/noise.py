"""Noise -> image families (DCGAN, StyleGAN, FastGAN)."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from training import losses
from training.batches import Batch
from training.config import ConfigError, TrainConfig
from training.data import TrainData
from training.families.base import Family, GenerateFn, Logs, StepContext, _check_kwargs, _class_term, _r1, _sum_terms, fixed_ncol
from zoo.latents import latents_from_seed


class _NoiseFamily(Family):
    noise_input = True

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
                "d_class": _class_term(ctx, real_out.class_logits, batch.labels),
                "r1": _r1(ctx, real_out.logits, real),
            }
        )

    def g_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        z = ctx.noise(batch.images.shape[0], ctx.G_raw.config.latent_dim)
        labels = batch.labels
        if ctx.cfg.lambda_ms > 0 and labels is not None:
            labels = losses.pair_conditions(labels)  # variety within a class, not across classes
        fake = self._generate(ctx, ctx.G, z, labels)
        out = ctx.D_raw(ctx.augment(fake), labels)
        mode_seeking = None
        if ctx.cfg.lambda_ms > 0:
            mode_seeking = losses.mode_seeking(fake, z) * ctx.cfg.lambda_ms
        return _sum_terms(
            {
                "g_adv": losses.g_adversarial(out.logits, ctx.cfg.loss),
                "g_class": _class_term(ctx, out.class_logits, labels),
                "g_ms": mode_seeking,
            }
        )

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


class DCGANFamily(_NoiseFamily):
    name = "dcgan"
    default_latent_dim = 128
    reserved_g = {"resolution", "latent_dim", "base_channels", "num_classes"}
    reserved_d = {"resolution", "base_channels", "num_classes", "class_head", "spectral_norm"}
    spectral_norm_option = True

    def model_classes(self) -> tuple[type, type]:
        from zoo.models.dcgan import DCGANDiscriminator, DCGANGenerator

        return DCGANGenerator, DCGANDiscriminator

    def discriminator_options(self, cfg: TrainConfig) -> dict[str, Any]:
        return {"class_head": cfg.class_head, "spectral_norm": cfg.spectral_norm}


class FastGANFamily(DCGANFamily):
    """FastGAN's generator; the classic path's discriminator is DCGAN's (so are its options)."""

    name = "fastgan"
    default_latent_dim = 256

    def model_classes(self) -> tuple[type, type]:
        from zoo.models.fastgan import FastGANDiscriminator, FastGANGenerator

        return FastGANGenerator, FastGANDiscriminator


class StyleGANFamily(_NoiseFamily):
    name = "stylegan"
    default_latent_dim = 256
    reserved_g = {"resolution", "latent_dim", "base_channels", "num_classes"}
    reserved_d = {"resolution", "base_channels", "num_classes"}
    tiny_model_kwargs = ({"w_dim": 16, "mapping_layers": 2, "max_channels": 16}, {"max_channels": 16})
    style_mixing = True

    def check_options(self, cfg: TrainConfig) -> None:
        if cfg.class_head != "projection" and cfg.discriminator == "classic":
            raise ConfigError("the stylegan discriminator only supports class_head 'projection'")
        super().check_options(cfg)

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
