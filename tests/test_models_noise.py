"""Tests for the noise -> image families (DCGAN, StyleGAN, FastGAN): shapes, conditioning, save/load, truncation, mixing."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from zoo.latents import layers_for_range, style_mix
from zoo.models.base import DiscriminatorOutput, NoiseGenerator
from zoo.models.dcgan import DCGANDiscriminator, DCGANGenerator
from zoo.models.fastgan import FastGANGenerator, SkipLayerExcitation, fastgan_width
from zoo.models.stylegan import ModulatedConv2d, StyleGANDiscriminator, StyleGANGenerator

RESOLUTIONS = (32, 64, 128, 256)
LATENT = 16
WEIGHTS_FILE = "diffusion_pytorch_model.safetensors"


def dcgan_g(resolution: int = 32, num_classes: int = 0) -> DCGANGenerator:
    return DCGANGenerator(resolution=resolution, latent_dim=LATENT, base_channels=4, num_classes=num_classes)


def dcgan_d(resolution: int = 32, **kwargs) -> DCGANDiscriminator:
    return DCGANDiscriminator(resolution=resolution, base_channels=4, **kwargs)


def fast_g(resolution: int = 32, num_classes: int = 0) -> FastGANGenerator:
    return FastGANGenerator(resolution=resolution, latent_dim=LATENT, base_channels=2, num_classes=num_classes)


def style_g(resolution: int = 32, num_classes: int = 0, **kwargs) -> StyleGANGenerator:
    return StyleGANGenerator(
        resolution=resolution,
        latent_dim=LATENT,
        w_dim=LATENT,
        mapping_layers=2,
        base_channels=4,
        max_channels=16,
        num_classes=num_classes,
        **kwargs,
    )


def style_d(resolution: int = 32, num_classes: int = 0) -> StyleGANDiscriminator:
    return StyleGANDiscriminator(resolution=resolution, base_channels=4, max_channels=16, num_classes=num_classes)


def randomise_noise_strength(generator: StyleGANGenerator) -> None:
    """Noise strengths start at 0; make them non-zero so tests can see the noise."""
    with torch.no_grad():
        for name, param in generator.named_parameters():
            if name.endswith("noise_strength"):
                param.fill_(0.5)


def labels(*values: int) -> torch.Tensor:
    return torch.tensor(values)


# ---------------------------------------------------------------- forward + backward at every resolution


@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize("family", ["dcgan", "stylegan", "fastgan"])
def test_generator_and_discriminator_train_step(family, resolution):
    torch.manual_seed(0)
    if family == "dcgan":
        generator, discriminator = dcgan_g(resolution), dcgan_d(resolution)
    elif family == "fastgan":
        generator, discriminator = fast_g(resolution), dcgan_d(resolution, spectral_norm=True)
    else:
        generator, discriminator = style_g(resolution), style_d(resolution)
    generator.train(), discriminator.train()
    images = generator(torch.randn(2, LATENT))
    assert images.shape == (2, 3, resolution, resolution)
    assert torch.isfinite(images).all()
    if family != "stylegan":
        assert images.abs().max() <= 1.0  # tanh output
    else:
        assert images.abs().max() < 50  # no tanh, but sane magnitudes at init
    out = discriminator(images)
    assert isinstance(out, DiscriminatorOutput)
    assert out.logits.shape == (2,) and out.class_logits is None
    out.logits.mean().backward()
    for model in (generator, discriminator):
        missing = [name for name, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
        assert not missing, f"parameters without a finite gradient: {missing}"


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_dcgan_widths_double_and_cap_at_8x_base(resolution):
    g, d = dcgan_g(resolution), dcgan_d(resolution)
    g_widths = [m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    d_widths = [m.out_channels for m in d.features if isinstance(m, nn.Conv2d)]
    assert g_widths[-1] == 3 and g_widths[-2] == 4  # base_channels at the last hidden layer
    assert max(g_widths) == max(d_widths) == min(4 * 2 ** (len(d_widths) - 1), 32)
    assert d_widths == sorted(d_widths) and d_widths[0] == 4


@pytest.mark.parametrize("resolution", [16, 48, 512, "64"])
def test_unsupported_resolutions_raise(resolution):
    for build in (dcgan_g, dcgan_d, style_g, style_d, fast_g):
        with pytest.raises(ValueError, match="resolution"):
            build(resolution)


@pytest.mark.parametrize("resolution, gated", [(32, []), (64, [64]), (128, [64, 128]), (256, [64, 128, 256])])
def test_fastgan_widths_halve_and_skip_layer_excitation_gates_from_16x_smaller(resolution, gated):
    g = fast_g(resolution)
    assert sorted(int(r) for r in g.sle) == gated
    for r in g.resolutions:
        conv = g.ups[str(r)].net[1]
        assert conv.in_channels == fastgan_width(2, r // 2) and conv.out_channels == 2 * fastgan_width(2, r)  # GLU halves
    for r, sle in g.sle.items():
        squeeze = sle.net[1]
        assert squeeze.in_channels == fastgan_width(2, int(r) // 16) and squeeze.out_channels == fastgan_width(2, int(r))
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert convs and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)  # spectral norm everywhere


def test_fastgan_skip_layer_excitation_rescales_channels_from_the_small_map():
    torch.manual_seed(0)
    sle = SkipLayerExcitation(small_channels=4, large_channels=3).eval()
    large = torch.randn(2, 3, 16, 16)
    small = torch.randn(2, 4, 8, 8)
    out = sle(small, large)
    gates = out / large
    # one gate in (0, 1) per sample and channel, constant over the map
    assert torch.allclose(gates, gates[:, :, :1, :1].expand_as(gates), atol=1e-5)
    assert ((gates > 0) & (gates < 1)).all()
    assert not torch.allclose(gates[0], gates[1])  # the small map decides them
    g = fast_g(64).eval()
    z = torch.randn(2, LATENT)
    with torch.no_grad():
        before = g(z)
        g.sle["64"].net[3].parametrizations.weight.original.zero_()  # gates -> sigmoid(0) = 0.5 everywhere
        assert not torch.allclose(before, g(z))


def test_dcgan_paper_details():
    g = DCGANGenerator(resolution=64, latent_dim=64, base_channels=16)
    d = DCGANDiscriminator(resolution=64, base_channels=16)
    conv_weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(conv_weights.std().item() - 0.02) < 0.002
    assert isinstance(g.net[-1], nn.Tanh)
    # no BatchNorm straight after D's first conv, BatchNorm after the others
    assert isinstance(d.features[0], nn.Conv2d) and isinstance(d.features[1], nn.LeakyReLU)
    assert d.features[1].negative_slope == 0.2
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 3


def test_dcgan_spectral_norm_replaces_batchnorm():
    d = dcgan_d(32, spectral_norm=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    weighted = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert weighted and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in weighted)
    d.train()
    d(torch.randn(2, 3, 32, 32)).logits.sum().backward()
    # the normalised weight has spectral norm ~1 after power iterations
    conv = d.features[2]
    with torch.no_grad():
        for _ in range(10):
            d(torch.randn(1, 3, 32, 32))
    sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
    assert abs(sigma.item() - 1.0) < 0.05


# ---------------------------------------------------------------- NoiseGenerator contract


@pytest.mark.parametrize("build", [dcgan_g, fast_g])
def test_single_w_noise_generator_contract(build):
    g = build().eval()
    assert isinstance(g, NoiseGenerator) and not g.supports_style_mixing
    assert g.num_ws == 1 and g.w_dim == LATENT
    z = torch.randn(3, LATENT)
    assert torch.equal(g.map(z), z.unsqueeze(1))
    torch.testing.assert_close(g.map(z, truncation_psi=0.5), (0.5 * z).unsqueeze(1))
    assert torch.equal(g.mean_w(), torch.zeros(1, 1, LATENT))
    with torch.no_grad():
        assert torch.equal(g(z, truncation_psi=0.7), g.synthesize(g.map(z, truncation_psi=0.7)))
        assert torch.equal(g(torch.randn(3, LATENT), truncation_psi=0.0), g.synthesize(g.mean_w().expand(3, -1, -1)))


def test_stylegan_noise_generator_contract():
    for resolution in RESOLUTIONS:
        g = style_g(resolution)
        steps = {32: 3, 64: 4, 128: 5, 256: 6}[resolution]
        assert g.num_ws == 2 * steps + 2 == len(g.layer_resolutions())
        assert g.layer_resolutions()[:4] == [4, 4, 8, 8] and g.layer_resolutions()[-1] == resolution
    g = style_g(64).eval()
    assert isinstance(g, NoiseGenerator) and g.supports_style_mixing and g.w_dim == LATENT
    z = torch.randn(2, LATENT)
    w = g.map(z)
    assert w.shape == (2, g.num_ws, LATENT)
    assert torch.equal(w[:, 0], w[:, -1])  # map broadcasts one w; layers only differ after mixing
    with torch.no_grad():
        assert torch.equal(g(z), g.synthesize(w))


@pytest.mark.parametrize("build", [dcgan_g, style_g, fast_g])
def test_generators_validate_z_and_w(build):
    g = build()
    with pytest.raises(ValueError, match="z must have shape"):
        g(torch.randn(2, LATENT + 1))
    with pytest.raises(ValueError, match="z must have shape"):
        g(torch.randn(LATENT))
    with pytest.raises(ValueError, match="w must have shape"):
        g.synthesize(torch.randn(2, g.num_ws + 1, LATENT))
    with pytest.raises(ValueError, match="psi"):
        g(torch.randn(2, LATENT), truncation_psi=1.5)


@pytest.mark.parametrize("build", [dcgan_d, style_d])
def test_discriminators_validate_image_shape(build):
    with pytest.raises(ValueError, match="images must have shape"):
        build(32)(torch.randn(2, 3, 64, 64))
    with pytest.raises(ValueError, match="images must have shape"):
        build(32)(torch.randn(2, 1, 32, 32))


# ---------------------------------------------------------------- class conditioning


@pytest.mark.parametrize("build", [dcgan_g, style_g, fast_g])
def test_conditional_generators_use_labels(build):
    g = build(num_classes=3).eval()
    z = torch.randn(1, LATENT).expand(3, -1)
    with torch.no_grad():
        images = g(z, labels(0, 1, 2))
        assert images.shape == (3, 3, 32, 32)
        assert not torch.equal(images[0], images[1]) and not torch.equal(images[1], images[2])
        # batch size changes the conv kernels' summation order, so compare with a tolerance here
        torch.testing.assert_close(g(z[:1], labels(1))[0], images[1])
        assert torch.equal(g(z, labels(2)), g(z, labels(2, 2, 2)))  # one label broadcasts over the batch


@pytest.mark.parametrize("build", [dcgan_g, style_g, fast_g])
def test_generators_reject_bad_labels(build):
    z = torch.randn(2, LATENT)
    conditional = build(num_classes=3)
    for bad in (labels(0, 3), labels(-1, 0), labels(0, 1, 2), None):
        with pytest.raises(ValueError, match="class"):
            conditional(z, bad)
    with pytest.raises(ValueError, match="unconditional"):
        build()(z, labels(0, 1))


def test_dcgan_projection_discriminator_depends_on_labels():
    d = dcgan_d(num_classes=4, class_head="projection").eval()
    x = torch.randn(1, 3, 32, 32).expand(4, -1, -1, -1)
    out = d(x, labels(0, 1, 2, 3))
    assert out.class_logits is None and out.logits.shape == (4,)
    assert len(set(out.logits.tolist())) == 4
    with pytest.raises(ValueError, match="class-conditional"):
        d(x)


def test_dcgan_ac_discriminator_returns_class_logits():
    d = dcgan_d(64, num_classes=5, class_head="ac").train()
    x = torch.randn(3, 3, 64, 64)
    out = d(x, labels(0, 1, 4))
    assert out.logits.shape == (3,) and out.class_logits.shape == (3, 5)
    (out.logits.sum() + nn.functional.cross_entropy(out.class_logits, labels(0, 1, 4))).backward()
    assert d.class_classifier.weight.grad is not None
    d.eval()
    assert torch.equal(d(x).class_logits, d(x, labels(0, 1, 4)).class_logits)  # AC head does not need labels


def test_dcgan_ac_with_spectral_norm():
    d = dcgan_d(32, num_classes=2, class_head="ac", spectral_norm=True)
    out = d(torch.randn(2, 3, 32, 32))
    assert out.class_logits.shape == (2, 2)


def test_stylegan_projection_discriminator_depends_on_labels():
    d = style_d(num_classes=3).eval()
    x = torch.randn(1, 3, 32, 32).expand(3, -1, -1, -1)
    with torch.no_grad():
        out = d(x, labels(0, 1, 2))
    assert out.logits.shape == (3,) and out.class_logits is None
    assert len(set(out.logits.tolist())) == 3


@pytest.mark.parametrize(
    "build",
    [lambda: dcgan_d(num_classes=3), lambda: dcgan_d(num_classes=3, class_head="ac"), lambda: style_d(num_classes=3)],
)
def test_discriminators_reject_bad_labels(build):
    d, x = build(), torch.randn(2, 3, 32, 32)
    for bad in (labels(0, 3), labels(-1, 0), labels(0, 1, 2)):
        with pytest.raises(ValueError, match="class labels"):
            d(x, bad)


def test_unconditional_discriminators_reject_labels():
    for d in (dcgan_d(), style_d()):
        with pytest.raises(ValueError, match="unconditional"):
            d(torch.randn(2, 3, 32, 32), labels(0, 1))


def test_bad_constructor_args_raise():
    with pytest.raises(ValueError, match="class_head"):
        dcgan_d(num_classes=2, class_head="softmax")
    with pytest.raises(ValueError, match="num_classes"):
        dcgan_g(num_classes=-1)
    with pytest.raises(ValueError, match="w_avg_beta"):
        style_g(w_avg_beta=1.0)
    with pytest.raises(ValueError, match="latent_dim"):
        DCGANGenerator(resolution=32, latent_dim=0)
    with pytest.raises(ValueError, match="rgb_init_gain"):
        style_g(rgb_init_gain=0.0)


def test_stylegan_rgb_init_gain_starts_near_grey_and_is_only_an_initialisation():
    """The projected-D recipe starts G at a tenth of StyleGAN2's image spread (see the config)."""
    z = torch.randn(8, 256, generator=torch.Generator().manual_seed(0))
    spreads = {}
    for gain in (1.0, 0.1):
        torch.manual_seed(0)
        g = StyleGANGenerator(resolution=64, latent_dim=256, w_dim=256, base_channels=32, max_channels=128,
                              rgb_init_gain=gain).eval()
        spreads[gain] = g(z).std().item()
    assert spreads[1.0] > 1.0 and spreads[0.1] == pytest.approx(spreads[1.0] * 0.1, rel=1e-4)
    # Loading weights into a model built with another gain gives the saved model exactly.
    restored = StyleGANGenerator(resolution=64, latent_dim=256, w_dim=256, base_channels=32, max_channels=128).eval()
    restored.load_state_dict(g.state_dict())
    assert torch.equal(restored(z), g(z))


def test_minibatch_stddev_handles_odd_batches():
    d = style_d().eval()
    with torch.no_grad():
        for batch in (1, 3, 5, 6):
            assert d(torch.randn(batch, 3, 32, 32)).logits.shape == (batch,)


# ---------------------------------------------------------------- save_pretrained / from_pretrained


def _train_a_little(model: nn.Module, *inputs) -> None:
    """One forward in train mode, so BatchNorm running stats and spectral-norm vectors leave their init."""
    model.train()
    with torch.no_grad():
        model(*inputs)
    model.eval()


@pytest.mark.parametrize(
    "build, conditional",
    [(dcgan_g, False), (dcgan_g, True), (style_g, False), (style_g, True), (fast_g, False), (fast_g, True)],
)
def test_generator_round_trip_is_bit_identical(tmp_path, build, conditional):
    torch.manual_seed(0)
    g = build(64, num_classes=3 if conditional else 0)
    y = labels(0, 2) if conditional else None
    _train_a_little(g, torch.randn(4, LATENT), None if y is None else labels(0, 1, 2, 1))
    if isinstance(g, StyleGANGenerator):
        randomise_noise_strength(g)
        g.update_w_avg(g.map(torch.randn(8, LATENT), labels(0, 1, 2, 0, 1, 2, 0, 1) if conditional else None))
    g.save_pretrained(tmp_path)
    assert (tmp_path / WEIGHTS_FILE).exists() and not list(tmp_path.glob("*.bin"))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["_class_name"] == type(g).__name__ and config["resolution"] == 64
    loaded = type(g).from_pretrained(tmp_path, use_safetensors=True)
    assert not loaded.training
    z = torch.randn(2, LATENT)
    with torch.no_grad():
        for psi in (1.0, 0.6):
            if isinstance(g, FastGANGenerator):  # spectral norm: see test_spectral_norm_discriminator_round_trip
                torch.testing.assert_close(g(z, y, truncation_psi=psi), loaded(z, y, truncation_psi=psi), rtol=1e-5, atol=1e-6)
            else:
                assert torch.equal(g(z, y, truncation_psi=psi), loaded(z, y, truncation_psi=psi))


@pytest.mark.parametrize(
    "build, kwargs",
    [
        (dcgan_d, {}),
        (dcgan_d, {"num_classes": 3, "class_head": "projection"}),
        (dcgan_d, {"num_classes": 3, "class_head": "ac"}),
        (style_d, {}),
        (style_d, {"num_classes": 3}),
    ],
)
def test_discriminator_round_trip_is_bit_identical(tmp_path, build, kwargs):
    torch.manual_seed(0)
    d = build(32, **kwargs)
    x = torch.randn(2, 3, 32, 32)
    y = labels(0, 2) if kwargs.get("num_classes") else None
    _train_a_little(d, torch.randn(4, 3, 32, 32), None if y is None else labels(0, 1, 2, 1))
    d.save_pretrained(tmp_path)
    loaded = type(d).from_pretrained(tmp_path, use_safetensors=True)
    with torch.no_grad():
        expected, actual = d(x, y), loaded(x, y)
    assert torch.equal(expected.logits, actual.logits)
    if expected.class_logits is not None:
        assert torch.equal(expected.class_logits, actual.class_logits)


def test_spectral_norm_discriminator_round_trip(tmp_path):
    d = dcgan_d(32, num_classes=2, spectral_norm=True)
    _train_a_little(d, torch.randn(4, 3, 32, 32), labels(0, 1, 1, 0))
    d.save_pretrained(tmp_path)
    saved = load_file(tmp_path / WEIGHTS_FILE)
    assert any(key.endswith("_u") for key in saved), "power-iteration state must be saved"
    loaded = DCGANDiscriminator.from_pretrained(tmp_path, use_safetensors=True)
    x, y = torch.randn(2, 3, 32, 32), labels(0, 1)
    # Not bit-exact: the power-iteration matvec is sensitive to the memory alignment of loaded tensors.
    torch.testing.assert_close(d(x, y).logits, loaded(x, y).logits, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- StyleGAN: w_avg, truncation, noise, mixing


def test_w_avg_is_a_saved_buffer_and_update_is_an_ema(tmp_path):
    g = style_g(w_avg_beta=0.75)
    assert "w_avg" in dict(g.named_buffers()) and torch.equal(g.w_avg, torch.zeros(LATENT))
    g.update_w_avg(torch.ones(4, LATENT))
    assert torch.allclose(g.w_avg, torch.full((LATENT,), 0.25))
    g.update_w_avg(torch.full((2, g.num_ws, LATENT), 2.0))
    assert torch.allclose(g.w_avg, torch.full((LATENT,), 0.75 * 0.25 + 0.25 * 2.0))
    g.save_pretrained(tmp_path)
    assert torch.equal(load_file(tmp_path / WEIGHTS_FILE)["w_avg"], g.w_avg)
    assert torch.equal(StyleGANGenerator.from_pretrained(tmp_path, use_safetensors=True).w_avg, g.w_avg)
    with pytest.raises(ValueError, match="w must be"):
        g.update_w_avg(torch.ones(4, LATENT + 1))


def test_update_w_avg_does_not_track_gradients():
    g = style_g()
    w = g.map(torch.randn(4, LATENT))
    g.update_w_avg(w)
    assert not g.w_avg.requires_grad and g.w_avg.grad_fn is None
    assert not torch.equal(g.w_avg, torch.zeros(LATENT))


def test_truncation_psi_zero_is_the_mean_w_image_and_one_is_untruncated():
    torch.manual_seed(0)
    g = style_g(64).eval()
    g.update_w_avg(g.map(torch.randn(16, LATENT)))
    g.update_w_avg(torch.randn(16, LATENT))
    z = torch.randn(3, LATENT)
    with torch.no_grad():
        mean_image = g.synthesize(g.mean_w().expand(3, -1, -1))
        truncated = g(z, truncation_psi=0.0)
        assert torch.equal(truncated, mean_image)
        assert torch.equal(truncated[0], truncated[2])
        untruncated = g.synthesize(g.mapping(z, None).unsqueeze(1).repeat(1, g.num_ws, 1))
        assert torch.equal(g(z, truncation_psi=1.0), untruncated)
        half = g(z, truncation_psi=0.5)
        assert not torch.equal(half, untruncated) and not torch.equal(half, mean_image)
    assert g.mean_w().shape == (1, g.num_ws, LATENT)


def test_noise_is_constant_in_eval_and_random_in_training():
    torch.manual_seed(0)
    g = style_g()
    randomise_noise_strength(g)
    z = torch.randn(2, LATENT)
    with torch.no_grad():
        g.eval()
        assert torch.equal(g(z), g(z))
        assert torch.equal(g(z), g(z, noise_mode="const"))
        assert not torch.equal(g(z), g(z, noise_mode="none"))
        assert not torch.equal(g(z, noise_mode="random"), g(z, noise_mode="random"))
        g.train()
        assert not torch.equal(g(z), g(z))
        with pytest.raises(ValueError, match="noise_mode"):
            g(z, noise_mode="fixed")
    # const noise is identical for two models built the same way, independent of the global RNG
    torch.manual_seed(123)
    other = style_g()
    assert torch.equal(other.blocks[1].conv0.noise_const, g.blocks[1].conv0.noise_const)
    assert not torch.equal(g.blocks[1].conv0.noise_const, g.blocks[1].conv1.noise_const)


@pytest.mark.parametrize("demodulate,kernel", [(True, 3), (False, 1)], ids=["synthesis-3x3", "to-rgb-1x1"])
def test_modulated_conv_training_and_eval_forms_agree(demodulate, kernel):
    """Training uses the unfused form (fast backward on CPU), eval the fused grouped conv: same maths."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(8, 6, kernel, w_dim=16, demodulate=demodulate)
    x, w = torch.randn(3, 8, 10, 10), torch.randn(3, 16)
    outputs, grads = [], []
    for training in (True, False):
        conv.train(training)
        conv.zero_grad()
        out = conv(x, w)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        outputs.append(out.detach())
        grads.append([p.grad.clone() for p in conv.parameters()])
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-4, atol=1e-5)
    for unfused, fused in zip(*grads):
        torch.testing.assert_close(unfused, fused, rtol=1e-4, atol=1e-5)
    # The samples differ per style: a batch is not one shared weight.
    assert not torch.allclose(outputs[1][0], outputs[1][1])


def test_style_mixing_ranges_change_the_image():
    torch.manual_seed(0)
    g = style_g(64).eval()
    w_a, w_b = g.map(torch.randn(2, LATENT)).chunk(2)
    assert layers_for_range(g, "coarse") == [0, 1, 2, 3]
    assert layers_for_range(g, "middle") == [4, 5, 6, 7]
    assert layers_for_range(g, "fine") == [8, 9]
    with torch.no_grad():
        image_a, image_b = g.synthesize(w_a), g.synthesize(w_b)
        assert torch.equal(g.synthesize(style_mix(w_a, w_b, [])), image_a)
        assert torch.equal(g.synthesize(style_mix(w_b, w_a, range(g.num_ws))), image_a)
        assert torch.equal(g.synthesize(style_mix(w_a, w_b, range(g.num_ws))), image_b)
        fine = g.synthesize(style_mix(w_a, w_b, layers_for_range(g, "fine")))
        coarse = g.synthesize(style_mix(w_a, w_b, layers_for_range(g, "coarse")))
    assert not torch.equal(fine, image_a) and not torch.equal(coarse, image_a)
    # fine styles only touch the last block, so the change is smaller than swapping coarse styles
    assert (fine - image_a).abs().mean() < (coarse - image_a).abs().mean()


def test_mapping_network_takes_a_class_or_a_condition_vector() -> None:
    """The text model feeds its caption code where the class-conditional model feeds a class."""
    from zoo.models.stylegan import MappingNetwork

    with pytest.raises(ValueError, match="not both"):
        MappingNetwork(8, 8, 2, num_classes=2, condition_dim=4)
    torch.manual_seed(0)
    mapping = MappingNetwork(8, 8, 2, 0, condition_dim=4)
    z = torch.randn(3, 8)
    with pytest.raises(ValueError, match=r"condition must have shape \[3, 4\], got None"):
        mapping(z, None)
    with pytest.raises(ValueError, match=r"condition must have shape \[3, 4\], got \(3, 5\)"):
        mapping(z, None, condition=torch.randn(3, 5))
    a, b = mapping(z, None, condition=torch.randn(3, 4)), mapping(z, None, condition=torch.randn(3, 4))
    assert a.shape == (3, 8) and (a - b).abs().mean() > 1e-4
