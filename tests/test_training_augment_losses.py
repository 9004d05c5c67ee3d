"""DiffAugment, GAN losses, R1 and the generator EMA."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from training import losses
from training.augment import color, cutout, diff_augment, random_hflip, translation
from training.ema import ema_decay_at, ema_update


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_diffaugment_is_differentiable_and_replayable():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    policies = ("color", "translation", "cutout")
    y = diff_augment(x, policies, gen(1))
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.equal(diff_augment(x, policies, gen(1)), y)  # same generator state, same transform
    assert not torch.equal(diff_augment(x, policies, gen(2)), y)
    assert diff_augment(x, (), gen(0)) is x
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        diff_augment(x, ("blur",), gen(0))


def test_translation_shifts_with_zero_fill_and_cutout_blanks_a_half_square():
    x = torch.ones(64, 1, 16, 16)
    shifted = translation(x, gen(0))
    zeros = (shifted == 0).flatten(1).sum(1)
    assert (shifted.unique() == torch.tensor([0.0, 1.0])).all() or (shifted == 1).all()
    assert zeros.max() > 0 and zeros.max() <= 16 * 16 - 14 * 14  # at most a 2-px border (1/8 of 16)
    holes = (cutout(x, gen(0)) == 0).flatten(1).sum(1)
    assert holes.max() == 8 * 8 and holes.min() > 0  # an 8x8 square, clipped where it hangs over the edge


def test_color_changes_brightness_but_keeps_gradients():
    x = torch.zeros(8, 3, 4, 4, requires_grad=True)
    y = color(x, gen(0))
    assert y.std() > 0
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_hflip_mirrors_the_same_rows_of_every_tensor():
    a = torch.arange(2 * 3 * 2 * 4, dtype=torch.float).reshape(2, 3, 2, 4).repeat(8, 1, 1, 1)
    b = a * 10
    fa, fb, none = random_hflip([a, b, None], gen(0))
    assert none is None and torch.equal(fb, fa * 10)
    flipped = (fa != a).flatten(1).any(1)
    assert 0 < flipped.sum() < len(a)
    assert torch.equal(fa[flipped], a[flipped].flip(3))


def test_adversarial_losses_have_the_textbook_values():
    zeros = torch.zeros(5)
    assert losses.d_adversarial(zeros, zeros, "nonsaturating").item() == pytest.approx(2 * math.log(2))
    assert losses.g_adversarial(zeros, "nonsaturating").item() == pytest.approx(math.log(2))
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert losses.d_adversarial(real, fake, "hinge").item() == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert losses.g_adversarial(fake, "hinge").item() == pytest.approx(1.0)
    patch = torch.zeros(3, 1, 2, 2)  # PatchGAN maps average over patches
    assert losses.d_adversarial(patch, patch, "nonsaturating").item() == pytest.approx(2 * math.log(2))
    with pytest.raises(ValueError, match="unknown loss"):
        losses.g_adversarial(zeros, "wgan")


def test_matching_aware_loss_counts_mismatched_text_as_fake():
    real, fake, wrong = torch.full((4,), 3.0), torch.full((4,), -3.0), torch.full((4,), 3.0)
    with_mismatch = losses.matching_aware_d_loss(real, fake, wrong, "nonsaturating", 0.5)
    plain = losses.d_adversarial(real, fake, "nonsaturating")
    assert with_mismatch > plain + 1.0  # D is punished for accepting real images with the wrong caption
    assert losses.matching_aware_d_loss(real, fake, wrong, "nonsaturating", 0.0) == pytest.approx(plain.item())


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm():
    d = nn.Linear(6, 1)
    x = torch.randn(3, 6, requires_grad=True)
    penalty = losses.r1_penalty(d(x).squeeze(1), x)
    assert penalty.item() == pytest.approx(d.weight.square().sum().item(), rel=1e-5)
    penalty.backward()  # double backward reaches D's weights
    assert d.weight.grad.abs().sum() > 0
    assert losses.lazy_r1_weight(10.0, 16, 32) == 10.0 / 2 * 16
    assert losses.lazy_r1_weight(10.0, 16, 33) == 0.0 and losses.lazy_r1_weight(0.0, 16, 32) == 0.0


def test_class_and_kl_and_l1_losses():
    assert losses.class_loss(None, torch.tensor([0])) is None
    logits = torch.tensor([[10.0, -10.0], [-10.0, 10.0]])
    assert losses.class_loss(logits, torch.tensor([0, 1])).item() < 1e-6
    assert losses.kl_loss(torch.zeros(2, 8), torch.zeros(2, 8)).item() == 0.0
    assert losses.kl_loss(torch.ones(2, 8), torch.zeros(2, 8)).item() == pytest.approx(0.5)
    assert losses.l1_loss(torch.zeros(2, 3), torch.ones(2, 3)).item() == 1.0


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.register_buffer("w_avg", torch.zeros(2))


def test_ema_averages_parameters_and_copies_buffers():
    model, ema = WithBuffer(), WithBuffer()
    ema.load_state_dict(model.state_dict())
    start = ema.lin.weight.detach().clone()
    with torch.no_grad():
        model.lin.weight.add_(1.0)
        model.w_avg.fill_(3.0)  # e.g. StyleGAN's truncation centre, updated on the training G
    ema_update(ema, model, decay=0.9)
    assert torch.allclose(ema.lin.weight, start + 0.1)
    assert torch.equal(ema.w_avg, model.w_avg)
    ema_update(ema, model, decay=0.0)
    assert torch.equal(ema.lin.weight, model.lin.weight)


def test_ema_warmup_ramps_the_decay():
    assert ema_decay_at(0, 0.999, True) == pytest.approx(0.1)
    assert ema_decay_at(90, 0.999, True) == pytest.approx(0.91)
    assert ema_decay_at(10**7, 0.999, True) == 0.999
    assert ema_decay_at(0, 0.999, False) == 0.999


def test_refreshed_batchnorm_statistics_describe_the_ema_weights():
    """The EMA generator's BatchNorm statistics are measured on its own outputs, on a copy."""
    from training.ema import refreshed_batchnorm
    from zoo.models.dcgan import DCGANGenerator

    torch.manual_seed(0)
    ema = DCGANGenerator(resolution=32, latent_dim=8, base_channels=4).eval()
    bn = ema.net[1]
    bn.running_mean.fill_(5.0)  # stale statistics, as copied from another model
    first = ema.net[0]

    def generate_fn(G, data, device):
        return lambda n, gen: G(torch.randn(n, 8, generator=gen))

    fresh = refreshed_batchnorm(ema, generate_fn, None, torch.device("cpu"), seed=0)
    assert fresh is not ema and torch.all(bn.running_mean == 5.0)  # the original is untouched
    with torch.no_grad():
        pre = first(torch.randn(4096, 8, generator=torch.Generator().manual_seed(1))[:, :, None, None])
    assert torch.allclose(fresh.net[1].running_mean, pre.mean(dim=(0, 2, 3)), atol=0.05)
    assert not fresh.training and fresh.net[1].momentum == bn.momentum


def test_mode_seeking_rewards_variety_but_not_pixels_past_the_display_range():
    from training.losses import mode_seeking

    z = torch.randn(8, 16)
    same = torch.zeros(8, 3, 8, 8)
    varied = torch.cat([torch.full((4, 3, 8, 8), -0.5), torch.full((4, 3, 8, 8), 0.5)])
    assert mode_seeking(same, z) > 100 * mode_seeking(varied, z)  # identical images are expensive
    # Pushing the same pair far past white/black buys nothing beyond the [-1, 1] difference.
    saturated = torch.cat([torch.full((4, 3, 8, 8), -50.0), torch.full((4, 3, 8, 8), 50.0)])
    clipped = torch.cat([torch.full((4, 3, 8, 8), -1.0), torch.full((4, 3, 8, 8), 1.0)])
    assert torch.isclose(mode_seeking(saturated, z), mode_seeking(clipped, z))


def test_pair_conditions_gives_each_mode_seeking_pair_one_condition():
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 6])
    paired = losses.pair_conditions(labels)
    assert paired.tolist() == [0, 1, 2, 0, 1, 2, 6]  # row i and i + n/2 share a class; the odd row keeps its own
    embeds = torch.randn(4, 3)
    assert torch.equal(losses.pair_conditions(embeds)[2:], embeds[:2])
