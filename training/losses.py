"""GAN losses as plain functions of logits, so every family's adapter composes the same pieces.

Logits may be ``[B]`` (image discriminators) or ``[B, 1, h, w]`` (PatchGAN); every loss averages
over all elements, so a patch map counts each patch as one real/fake decision.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def d_adversarial(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """Discriminator loss: push real logits up and fake logits down."""
    return d_real_term(real_logits, kind) + d_fake_term(fake_logits, kind)


def d_real_term(real_logits: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "nonsaturating":
        return F.softplus(-real_logits).mean()
    if kind == "hinge":
        return F.relu(1.0 - real_logits).mean()
    raise ValueError(f"unknown loss {kind!r}; use 'nonsaturating' or 'hinge'")


def d_fake_term(fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "nonsaturating":
        return F.softplus(fake_logits).mean()
    if kind == "hinge":
        return F.relu(1.0 + fake_logits).mean()
    raise ValueError(f"unknown loss {kind!r}; use 'nonsaturating' or 'hinge'")


def g_adversarial(fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """Generator loss. Non-saturating (-log D(G(z))) rather than minimax, which has vanishing gradients early on."""
    if kind == "nonsaturating":
        return F.softplus(-fake_logits).mean()
    if kind == "hinge":
        return -fake_logits.mean()
    raise ValueError(f"unknown loss {kind!r}; use 'nonsaturating' or 'hinge'")


def matching_aware_d_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    mismatch_logits: torch.Tensor,
    kind: str,
    mismatch_weight: float = 0.5,
) -> torch.Tensor:
    """Text-conditional D loss (Reed et al., 2016): a real image with the wrong caption is also "fake".

    Without the mismatch term D can ignore the text and judge realism only, and G then has no
    reason to follow the caption.
    """
    fake = (1.0 - mismatch_weight) * d_fake_term(fake_logits, kind)
    mismatch = mismatch_weight * d_fake_term(mismatch_logits, kind)
    return d_real_term(real_logits, kind) + fake + mismatch


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of D's real logits w.r.t. the real images (Mescheder et al., 2018).

    ``real_images`` must have ``requires_grad=True`` and be the tensor D was applied to.
    """
    # Under fp16 autocast the logits are half precision: sum them in float32 (a batch of large
    # logits overflows fp16), and square the gradient in float32. The penalty is taken before any
    # loss scaling (accelerate scales only the final backward), so no unscaling is needed.
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def lazy_r1_weight(gamma: float, interval: int, step: int) -> float:
    """R1 weight for this step: ``gamma / 2 * interval`` every ``interval`` steps, else 0.

    Lazy regularisation (StyleGAN2) computes the penalty rarely and scales it up so the average
    strength matches ``gamma / 2`` every step, at a fraction of the double-backward cost.
    """
    if gamma <= 0 or step % interval != 0:
        return 0.0
    return gamma / 2.0 * interval


def class_loss(class_logits: Optional[torch.Tensor], labels: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """Auxiliary-classifier cross-entropy (AC-GAN); ``None`` when the model has no class head."""
    if class_logits is None or labels is None:
        return None
    return F.cross_entropy(class_logits.float(), labels)


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, I)) of conditioning augmentation, averaged over batch and dimensions.

    It keeps the text-conditioning manifold smooth, so nearby captions give nearby images. The mean
    over dimensions (StackGAN's scaling) keeps ``lambda_kl`` ~1 meaningful for any ``condition_dim``.
    """
    return 0.5 * torch.mean(mu.float().pow(2) + logvar.float().exp() - 1.0 - logvar.float())


def mode_seeking(images: torch.Tensor, latents: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Mode-seeking term (Mao et al., 2019): small when different latents give different images.

    The batch is split into pairs (first half vs second half); the ratio of their mean absolute image
    difference to their mean absolute latent difference is pushed up through ``1 / (ratio + eps)``.
    Why: with ~200 photos a strong discriminator lets G settle on a few faces; this term makes
    "every seed the same person" expensive without prescribing what the variety should be.
    """
    half = images.shape[0] // 2
    if half == 0:
        return images.new_zeros(())
    # Distances are taken in the displayable range: a generator without a tanh (StyleGAN's linear
    # toRGB) could otherwise "differ" by pushing pixels far past white and black, which it learns
    # within a few hundred steps (saturated cyan/white faces while D wins outright).
    images = images.float().clamp(-1, 1)
    image_dist = (images[:half] - images[half : 2 * half]).abs().mean()
    latent_dist = (latents[:half].float() - latents[half : 2 * half].float()).abs().mean()
    return 1.0 / (image_dist / latent_dist + eps)


def pair_conditions(condition: torch.Tensor) -> torch.Tensor:
    """The batch's conditions (labels, caption embeddings) with row ``i + n/2`` given row ``i``'s.

    :func:`mode_seeking` compares row ``i`` with row ``i + n/2``; when their conditions differ, the
    images differ "for free" (another class, another caption) and the term no longer asks for
    variety across seeds, so a conditional G can draw one face per class and still satisfy it.
    """
    half = condition.shape[0] // 2
    return torch.cat([condition[:half], condition[:half], condition[2 * half :]])


def l1_loss(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (fake.float() - target.float()).abs().mean()
