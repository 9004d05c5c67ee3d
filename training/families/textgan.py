"""Text -> image (StackGAN-style textgan)."""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from training import losses
from training.batches import Batch
from training.captions import check_word_maps
from training.config import ConfigError, TrainConfig
from training.data import TrainData
from training.families.base import Family, GenerateFn, Logs, StepContext, _check_kwargs, _class_term, _r1, _sum_terms, fixed_ncol
from zoo.latents import latents_from_seed, stream_seed


def _downsample_to(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="area")


class TextGANFamily(Family):
    name = "textgan"
    default_latent_dim = 100
    reserved_g = {"resolution", "latent_dim", "base_channels", "text_embed_dim", "text_encoder"}
    reserved_d = {"resolution", "text_embed_dim", "base_channels"}
    tiny_model_kwargs = ({"condition_dim": 16}, {})
    noise_input = True

    def check_captions(self, cfg: TrainConfig) -> None:
        if not cfg.caption_column and not cfg.caption_template:
            raise ConfigError("textgan needs captions: set caption_column or caption_template")
        if (cfg.caption_paraphrases or cfg.caption_words) and not cfg.caption_template:
            raise ConfigError("caption_paraphrases and caption_words build captions from metadata: set caption_template too")
        if cfg.counterfactual_fields and not cfg.caption_template:
            raise ConfigError("counterfactual_fields change metadata values in the captions built from caption_template: set it")
        if not all(isinstance(f, str) and f for f in cfg.counterfactual_fields):
            raise ConfigError(f"counterfactual_fields must be metadata column names, got {cfg.counterfactual_fields!r}")
        bad = [t for t in cfg.caption_paraphrases if not isinstance(t, str) or not t.strip()]
        if bad:
            raise ConfigError(f"caption_paraphrases must be non-empty template strings, got {bad}")
        try:
            check_word_maps(cfg.caption_words)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        if cfg.label_column and (cfg.discriminator != "projected" or cfg.class_head != "ac"):
            raise ConfigError(
                "textgan is conditioned on captions; a label_column there names an attribute for the projected "
                "discriminator's auxiliary classifier: set discriminator 'projected' and class_head 'ac'"
            )

    def check_options(self, cfg: TrainConfig) -> None:
        super().check_options(cfg)
        if cfg.resolution not in (32, 64, 128):
            raise ConfigError("textgan's first stage supports resolution 32, 64 or 128")

    def data_resolution(self, cfg: TrainConfig) -> int:
        """A two-stage textgan trains on its refined (largest) output."""
        refine = int(cfg.generator_kwargs.get("refine_resolution", 0) or 0)
        return max(cfg.resolution, refine)

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
        from zoo.models.textgan import StageDiscriminators

        dim = int(data.text_embeds.shape[1])
        cls, extra = self.discriminator_with_kwargs(cfg)
        if cfg.discriminator == "projected":  # caption embedding projected into every head
            # With a label_column, D also predicts that attribute of the image (TAC-GAN, Dash et al. 2017).
            classes = {"num_classes": data.num_classes, "class_head": cfg.class_head} if data.num_classes else {}
            return StageDiscriminators(
                [cls(resolution=r, condition_dim=dim, **classes, **extra) for r in self.stage_resolutions(cfg)]
            )
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
        uncond = sum(losses.d_adversarial(r.unconditional_logits, f.unconditional_logits, kind) for r, f in zip(real_out, fake_out))
        r1 = None
        if ctx.r1_weight > 0:
            r1 = sum(_r1(ctx, r.logits, x) for r, x in zip(real_out, real_in))
        return _sum_terms({"d_cond": cond, "d_uncond": uncond, "r1": r1, "d_class": self._stages_class_term(ctx, real_out, batch.labels)})

    @staticmethod
    def _stages_class_term(ctx: StepContext, outputs, labels: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        """The auxiliary classifier's loss summed over stages: D learns the attribute on real photos,
        and G is asked for the attribute of the caption it drew (so "smiling" gets its own gradient
        instead of only the match/no-match signal)."""
        terms = [_class_term(ctx, o.class_logits, labels) for o in outputs]
        return None if any(t is None for t in terms) else sum(terms)

    def g_loss(self, ctx: StepContext, batch: Batch) -> tuple[torch.Tensor, Logs]:
        n = batch.images.shape[0]
        embeds, labels = batch.text_embeds, batch.labels
        if ctx.cfg.lambda_ms > 0:  # variety for one prompt across seeds, which is what the app shows
            embeds = losses.pair_conditions(embeds)
            labels = None if labels is None else losses.pair_conditions(labels)
        z = ctx.noise(n, ctx.G_raw.config.latent_dim)
        ca = ctx.noise(n, ctx.G_raw.config.condition_dim)
        fakes = ctx.G(z, embeds, ca_noise=ca, return_all_stages=True)
        # CA is a single linear layer: recomputing mu/logvar for the KL term is cheaper than a wrapper.
        _, mu, logvar = ctx.G_raw.condition(embeds, ca)
        outs = ctx.D_raw([ctx.augment(f) for f in fakes], embeds)
        kind = ctx.cfg.loss
        adv = sum(losses.g_adversarial(o.logits, kind) + losses.g_adversarial(o.unconditional_logits, kind) for o in outs)
        mode_seeking = None
        if ctx.cfg.lambda_ms > 0:  # on the final stage, with z and the CA noise as the latent
            mode_seeking = losses.mode_seeking(fakes[-1], torch.cat([z, ca], dim=1)) * ctx.cfg.lambda_ms
        return _sum_terms({"g_adv": adv, "kl": losses.kl_loss(mu, logvar) * ctx.cfg.lambda_kl, "g_ms": mode_seeking,
                           "g_class": self._stages_class_term(ctx, outs, labels)})

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
        """Training captions with z *and* the conditioning-augmentation noise drawn per image, as the
        pipeline (and so the app) samples: scoring ``c = mu`` would grade images nobody is shown."""
        embeds = data.text_embeds[data.train_idx]

        def generate(n: int, gen: torch.Generator) -> torch.Tensor:
            idx = torch.randint(0, len(embeds), (n,), generator=gen)
            z = torch.randn(n, G.config.latent_dim, generator=gen)
            ca = torch.randn(n, G.config.condition_dim, generator=gen)
            return G(z.to(device), embeds[idx].to(device), ca_noise=ca.to(device)).float().clamp(-1, 1)

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
