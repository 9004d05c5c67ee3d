"""Sketch -> photo (pix2pix)."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from training import losses
from training.batches import Batch
from training.config import ConfigError, TrainConfig
from training.data import TrainData, uint8_to_float
from training.families.base import Family, GenerateFn, Logs, StepContext, _check_kwargs, _class_term, _r1, _sum_terms


class Pix2PixFamily(Family):
    name = "pix2pix"
    reserved_g = {"resolution", "base_channels"}
    reserved_d = {"base_channels", "num_classes", "spectral_norm", "in_channels"}
    tiny_model_kwargs = ({}, {"num_layers": 2})
    spectral_norm_option = True

    def check_inputs(self, cfg: TrainConfig) -> None:
        if cfg.sketch_source == "none":
            raise ConfigError("pix2pix needs paired inputs: set sketch_source to xdog, column or side_by_side")
        if cfg.sketch_source == "column" and not cfg.sketch_column:
            raise ConfigError("sketch_source 'column' needs sketch_column (the input image column)")

    def check_options(self, cfg: TrainConfig) -> None:
        super().check_options(cfg)
        if cfg.label_column and cfg.class_head != "ac":
            raise ConfigError("a class-conditional pix2pix discriminator needs class_head 'ac' (PatchGAN has an AC head only)")

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
        return _sum_terms(
            {
                "d_adv": losses.d_adversarial(real_out.logits, fake_out.logits, ctx.cfg.loss),
                "d_class": _class_term(ctx, real_out.class_logits, batch.labels),
                "r1": _r1(ctx, real_out.logits, real),
            }
        )

    def g_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        fake = ctx.G(batch.sketches)
        out = ctx.D_raw(*ctx.augment_pair(batch.sketches, fake), batch.labels)
        return _sum_terms(
            {
                "g_adv": losses.g_adversarial(out.logits, ctx.cfg.loss),
                "l1": self._l1(ctx.cfg, fake, batch) * ctx.cfg.lambda_l1,
                "g_class": _class_term(ctx, out.class_logits, batch.labels),
            }
        )

    @staticmethod
    def _l1(cfg: TrainConfig, fake: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean absolute error to the photo, each row weighted by its input style's l1_style_weights
        (the plain mean when no style is reweighted)."""
        if not cfg.l1_style_weights or batch.sketch_style is None:
            return losses.l1_loss(fake, batch.images)
        weights = torch.tensor([float(cfg.l1_style_weights.get(s, 1.0)) for s in cfg.sketch_style_list], device=fake.device)
        per_row = (fake.float() - batch.images.float()).abs().flatten(1).mean(dim=1)
        return (per_row * weights[batch.sketch_style.to(fake.device)]).mean()

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
