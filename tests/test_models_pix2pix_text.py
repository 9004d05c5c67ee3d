"""pix2pix (U-Net + PatchGAN) and StackGAN-style text-to-image models: shapes, gradients, contracts, save/load."""

from __future__ import annotations

import json

import pytest
import torch

from zoo.models.base import DiscriminatorOutput
from zoo.models.pix2pix import PatchGANDiscriminator, UNetGenerator
from zoo.models.textgan import TextConditionalGenerator, TextMatchingDiscriminator, kl_loss

# Expected PatchGAN map side for num_layers=3: three stride-2 convs, then two 4x4 stride-1 convs (-1 each).
PATCH_SIDE = {32: 2, 64: 6, 128: 14, 256: 30}


def _grads_everywhere(module: torch.nn.Module) -> None:
    missing = [name for name, p in module.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing, f"no gradient reached: {missing}"


# --- pix2pix -------------------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", [32, 64, 128, 256])
def test_unet_and_patchgan_forward_backward(resolution: int) -> None:
    torch.manual_seed(0)
    generator = UNetGenerator(resolution=resolution, base_channels=4)
    discriminator = PatchGANDiscriminator(base_channels=4)
    assert len(generator.down_blocks) == resolution.bit_length() - 1  # log2(R) levels, down to 1x1

    sketch = torch.rand(2, 3, resolution, resolution) * 2 - 1
    photo = generator(sketch)
    assert photo.shape == (2, 3, resolution, resolution)
    assert photo.min() >= -1 and photo.max() <= 1

    out = discriminator(sketch, photo)
    assert isinstance(out, DiscriminatorOutput)
    side = PATCH_SIDE[resolution]
    assert out.logits.shape == (2, 1, side, side)
    assert out.class_logits is None

    out.logits.mean().backward()
    _grads_everywhere(generator)
    _grads_everywhere(discriminator)


def test_unet_bottleneck_is_1x1_and_batch_of_one_trains() -> None:
    generator = UNetGenerator(resolution=32, base_channels=4).train()
    shapes = []
    hooks = [block.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[2:]))) for block in generator.down_blocks]
    generator(torch.zeros(1, 3, 32, 32)).sum().backward()  # BatchNorm must not see a 1x1 map at batch 1
    for hook in hooks:
        hook.remove()
    assert shapes == [(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]


def test_unet_skip_connections_keep_spatial_alignment() -> None:
    """A change in one corner of the sketch must mostly change that corner of the photo (skips at full res)."""
    torch.manual_seed(0)
    generator = UNetGenerator(resolution=64, base_channels=8, dropout=0.0).eval()
    sketch = torch.ones(1, 3, 64, 64)
    edited = sketch.clone()
    edited[:, :, 4:12, 4:12] = -1
    with torch.no_grad():
        diff = (generator(edited) - generator(sketch)).abs()[0].mean(0)
    assert diff[:16, :16].mean() > 5 * diff[40:, 40:].mean()


def test_unet_dropout_is_noise_in_train_and_off_in_eval() -> None:
    torch.manual_seed(0)
    generator = UNetGenerator(resolution=32, base_channels=4, dropout=0.5)
    sketch = torch.rand(2, 3, 32, 32) * 2 - 1
    generator.train()
    assert not torch.equal(generator(sketch), generator(sketch))
    generator.eval()
    with torch.no_grad():
        assert torch.equal(generator(sketch), generator(sketch))
    dropouts = [m for m in generator.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 3 and all(m.p == 0.5 for m in dropouts)
    no_dropout = UNetGenerator(resolution=32, base_channels=4, dropout=0.0)
    assert not any(isinstance(m, torch.nn.Dropout) for m in no_dropout.modules())


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_patchgan_class_head(spectral_norm: bool) -> None:
    torch.manual_seed(0)
    discriminator = PatchGANDiscriminator(base_channels=4, num_classes=5, spectral_norm=spectral_norm)
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in discriminator.modules())
    assert has_bn is (not spectral_norm)
    sketch, photo = torch.rand(3, 3, 64, 64), torch.rand(3, 3, 64, 64)
    out = discriminator(sketch, photo, class_labels=torch.tensor([0, 4, 2]))
    assert out.logits.shape == (3, 1, 6, 6)
    assert out.class_logits.shape == (3, 5)
    torch.nn.functional.cross_entropy(out.class_logits, torch.tensor([0, 4, 2])).backward()
    assert discriminator.class_classifier.parametrizations.weight.original.grad is not None if spectral_norm else (
        discriminator.class_classifier.weight.grad is not None
    )
    with pytest.raises(ValueError, match="class labels"):
        discriminator(sketch, photo, class_labels=torch.tensor([0, 5, 1]))


def test_pix2pix_rejects_bad_config_and_inputs() -> None:
    with pytest.raises(ValueError, match="resolution"):
        UNetGenerator(resolution=48)
    with pytest.raises(ValueError, match="dropout"):
        UNetGenerator(dropout=1.0)
    with pytest.raises(ValueError, match="base_channels"):
        PatchGANDiscriminator(base_channels=0)
    generator = UNetGenerator(resolution=32, base_channels=4)
    with pytest.raises(ValueError, match=r"\[B, 3, 32, 32\]"):
        generator(torch.zeros(1, 3, 64, 64))
    discriminator = PatchGANDiscriminator(base_channels=4)
    with pytest.raises(ValueError, match="in_channels=6"):
        discriminator(torch.zeros(1, 1, 32, 32), torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="same batch size"):
        discriminator(torch.zeros(2, 3, 32, 32), torch.zeros(1, 3, 32, 32))


def _train_a_step(model: torch.nn.Module, *inputs: torch.Tensor) -> None:
    """Move BatchNorm running stats off their init so a save/load test would notice lost buffers."""
    model.train()
    out = model(*inputs)
    (out[0] if isinstance(out, (tuple, list)) else out).float().mean().backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p.add_(p.grad, alpha=-0.1)
    model.eval()


def test_pix2pix_save_load_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    generator = UNetGenerator(resolution=32, base_channels=4)
    discriminator = PatchGANDiscriminator(base_channels=4, num_classes=3, spectral_norm=True)
    sketch, photo = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    _train_a_step(generator, sketch)
    _train_a_step(discriminator, sketch, photo)

    generator.save_pretrained(tmp_path / "g")
    discriminator.save_pretrained(tmp_path / "d")
    assert (tmp_path / "g" / "diffusion_pytorch_model.safetensors").is_file()
    config = json.loads((tmp_path / "g" / "config.json").read_text())
    assert config["_class_name"] == "UNetGenerator" and config["resolution"] == 32 and config["dropout"] == 0.5

    loaded_g = UNetGenerator.from_pretrained(tmp_path / "g", use_safetensors=True).eval()
    loaded_d = PatchGANDiscriminator.from_pretrained(tmp_path / "d", use_safetensors=True).eval()
    with torch.no_grad():
        assert torch.equal(generator(sketch), loaded_g(sketch))
        expected, got = discriminator(sketch, photo), loaded_d(sketch, photo)
    # Spectral norm recomputes W / sigma(W) on every call; the loaded tensors' memory layout can
    # change the matmul's rounding in the last bit, so this one is compared at float32 precision.
    torch.testing.assert_close(expected.logits, got.logits, rtol=0, atol=1e-6)
    torch.testing.assert_close(expected.class_logits, got.class_logits, rtol=0, atol=1e-6)


# --- text-to-image -------------------------------------------------------------------------------

TINY_TEXT = dict(latent_dim=16, text_embed_dim=24, condition_dim=8, base_channels=8)


def _text_embeds(batch: int, dim: int = 24, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(batch, dim, generator=generator), dim=1)


def test_conditioning_augmentation() -> None:
    torch.manual_seed(0)
    model = TextConditionalGenerator(resolution=32, **TINY_TEXT)
    text = _text_embeds(3)
    c, mu, logvar = model.condition(text)
    assert c.shape == mu.shape == logvar.shape == (3, 8)
    assert torch.equal(c, mu)  # noise=None is deterministic
    noise = torch.randn(3, 8)
    c_noisy, mu2, logvar2 = model.condition(text, noise)
    torch.testing.assert_close(c_noisy, mu + torch.exp(logvar / 2) * noise)
    assert torch.equal(mu2, mu) and torch.equal(logvar2, logvar)
    with pytest.raises(ValueError, match="ca noise"):
        model.condition(text, torch.randn(3, 9))


@pytest.mark.parametrize(
    ("resolution", "refine_resolution", "upsampling"),
    [(32, 0, "glu"), (64, 0, "glu"), (32, 64, "glu"), (64, 128, "glu"), (64, 0, "transposed"), (32, 64, "transposed")],
)
def test_text_generator_stages_and_backward(resolution: int, refine_resolution: int, upsampling: str) -> None:
    torch.manual_seed(0)
    model = TextConditionalGenerator(
        resolution=resolution, refine_resolution=refine_resolution, upsampling=upsampling, **TINY_TEXT
    )
    z, text = torch.randn(2, 16), _text_embeds(2)
    stages = model(z, text, ca_noise=torch.randn(2, 8), return_all_stages=True)
    final_res = refine_resolution or resolution
    expected = [(2, 3, resolution, resolution)] + ([(2, 3, refine_resolution, refine_resolution)] if refine_resolution else [])
    assert [tuple(s.shape) for s in stages] == expected
    assert all(s.min() >= -1 and s.max() <= 1 for s in stages)
    assert model.output_resolution == final_res
    assert (model.refiner is not None) is bool(refine_resolution)

    final = model(z, text, ca_noise=torch.randn(2, 8))
    assert final.shape == (2, 3, final_res, final_res)
    discriminator = TextMatchingDiscriminator(resolution=final_res, text_embed_dim=24, base_channels=8)
    out = discriminator(final, text)
    (out.logits.mean() + out.unconditional_logits.mean()).backward()
    _grads_everywhere(model)
    _grads_everywhere(discriminator)


TINY_STYLE = dict(upsampling="style", w_dim=16, mapping_layers=2, max_channels=16)


def test_style_text_generator_shapes_backward_and_save_load(tmp_path) -> None:
    """The StyleGAN-style synthesis behind the same text contract: condition -> mapping network -> image."""
    torch.manual_seed(0)
    model = TextConditionalGenerator(resolution=32, **TINY_TEXT, **TINY_STYLE)
    assert model.refiner is None and model.output_resolution == 32
    z, text = torch.randn(2, 16), _text_embeds(2)
    stages = model(z, text, ca_noise=torch.randn(2, 8), return_all_stages=True)
    assert [tuple(s.shape) for s in stages] == [(2, 3, 32, 32)]
    discriminator = TextMatchingDiscriminator(resolution=32, text_embed_dim=24, base_channels=8)
    out = discriminator(stages[0], text)
    (out.logits.mean() + out.unconditional_logits.mean()).backward()
    # noise_strength starts at 0 and so gets no gradient through the noise until it moves; all else must.
    missing = [n for n, p in model.named_parameters() if "noise_strength" not in n and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing, f"no gradient reached: {missing}"

    model.eval()
    with torch.no_grad():
        a = model(z, _text_embeds(2, seed=1))
        b = model(z, _text_embeds(2, seed=2))
        assert torch.equal(a, model(z, _text_embeds(2, seed=1)))  # eval: const noise, deterministic
        assert (a - b).abs().mean() > 1e-4  # the caption reaches the image through the mapping network
        assert (a[0] - a[1]).abs().mean() > 1e-4  # and so does z
        model.save_pretrained(tmp_path)
        loaded = TextConditionalGenerator.from_pretrained(tmp_path).eval()
        assert torch.equal(loaded(z, _text_embeds(2, seed=1)), a)
    assert json.loads((tmp_path / "config.json").read_text())["upsampling"] == "style"


def test_style_text_generator_rejects_a_refine_stage() -> None:
    with pytest.raises(ValueError, match="no refine stage"):
        TextConditionalGenerator(resolution=32, refine_resolution=64, **TINY_TEXT, **TINY_STYLE)
    with pytest.raises(ValueError, match="rgb_init_gain"):
        TextConditionalGenerator(resolution=32, **TINY_TEXT, **TINY_STYLE, rgb_init_gain=0.0)


def test_text_generator_uses_text_and_is_deterministic_in_eval() -> None:
    torch.manual_seed(0)
    model = TextConditionalGenerator(resolution=32, refine_resolution=64, **TINY_TEXT)
    z = torch.randn(1, 16)
    with torch.no_grad():
        # Train mode (batch statistics) so the untrained net's activations are not squashed by
        # BatchNorm's initial running stats: same z, two texts -> two different images.
        both = model(torch.cat([z, z]), torch.cat([_text_embeds(1, seed=1), _text_embeds(1, seed=2)]))
        assert (both[0] - both[1]).abs().mean() > 1e-3
        model.eval()
        a = model(z, _text_embeds(1, seed=1))
        assert torch.equal(a, model(z, _text_embeds(1, seed=1)))
        # one prompt broadcast over a batch of latents
        batch = model(torch.cat([z, z]), _text_embeds(1, seed=1))
    torch.testing.assert_close(batch[0:1], a)
    torch.testing.assert_close(batch[1:2], a)


def test_text_generator_rejects_bad_config_and_inputs() -> None:
    with pytest.raises(ValueError, match="refine_resolution"):
        TextConditionalGenerator(resolution=64, refine_resolution=64)
    with pytest.raises(ValueError, match="resolution"):
        TextConditionalGenerator(resolution=64, refine_resolution=96)
    with pytest.raises(ValueError, match="text_encoder"):
        TextConditionalGenerator(text_encoder="")
    with pytest.raises(ValueError, match="upsampling must be one of glu, transposed, style"):
        TextConditionalGenerator(upsampling="bilinear")
    model = TextConditionalGenerator(resolution=32, **TINY_TEXT)
    with pytest.raises(ValueError, match=r"\[B, 24\]"):
        model(torch.randn(2, 16), torch.randn(2, 384))
    with pytest.raises(ValueError, match="z must have shape"):
        model(torch.randn(2, 15), _text_embeds(2))
    with pytest.raises(ValueError, match="3 text embeddings for 2 latents"):
        model(torch.randn(2, 16), _text_embeds(3))


def test_text_discriminator_conditional_and_unconditional_logits() -> None:
    torch.manual_seed(0)
    discriminator = TextMatchingDiscriminator(resolution=32, text_embed_dim=24, base_channels=8).eval()
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        a = discriminator(images, _text_embeds(2, seed=1))
        b = discriminator(images, _text_embeds(2, seed=2))
    assert a.logits.shape == (2,) and a.unconditional_logits.shape == (2,) and a.class_logits is None
    assert not torch.allclose(a.logits, b.logits)  # conditional: depends on the text
    assert torch.equal(a.unconditional_logits, b.unconditional_logits)  # unconditional: image only
    with pytest.raises(ValueError, match="text_embeds"):
        discriminator(images, _text_embeds(3))


def test_kl_loss() -> None:
    zeros = torch.zeros(4, 8)
    assert kl_loss(zeros, zeros).item() == 0.0
    mu, logvar = torch.full((4, 8), 2.0), torch.full((4, 8), 0.5)
    expected = 0.5 * (4.0 + torch.exp(torch.tensor(0.5)) - 1.0 - 0.5)
    torch.testing.assert_close(kl_loss(mu, logvar), expected)
    assert kl_loss(torch.randn(4, 8), torch.randn(4, 8)) > 0
    with pytest.raises(ValueError):
        kl_loss(zeros, torch.zeros(4, 7))


def test_textgan_save_load_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = TextConditionalGenerator(resolution=32, refine_resolution=64, text_encoder="some/encoder", **TINY_TEXT)
    discriminator = TextMatchingDiscriminator(resolution=64, text_embed_dim=24, base_channels=8)
    z, text = torch.randn(2, 16), _text_embeds(2)
    _train_a_step(model, z, text, torch.randn(2, 8))
    _train_a_step(discriminator, torch.rand(2, 3, 64, 64), text)

    model.save_pretrained(tmp_path / "g")
    discriminator.save_pretrained(tmp_path / "d")
    loaded = TextConditionalGenerator.from_pretrained(tmp_path / "g", use_safetensors=True).eval()
    loaded_d = TextMatchingDiscriminator.from_pretrained(tmp_path / "d", use_safetensors=True).eval()
    assert loaded.config.text_encoder == "some/encoder" and loaded.config.refine_resolution == 64
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        for expected, got in zip(model(z, text, return_all_stages=True), loaded(z, text, return_all_stages=True)):
            assert torch.equal(expected, got)
        assert torch.equal(discriminator(images, text).logits, loaded_d(images, text).logits)


def test_text_fid_samples_draw_conditioning_noise_as_the_app_does(monkeypatch) -> None:
    """KID, precision and recall must score what the app shows: c = mu + sigma * noise, not c = mu."""
    from types import SimpleNamespace

    from tests.tiny import tiny_generator
    from training.families import get_family

    generator = tiny_generator("textgan")
    seen = []
    original = generator.condition
    monkeypatch.setattr(generator, "condition", lambda embeds, noise=None: seen.append(noise) or original(embeds, noise))
    data = SimpleNamespace(text_embeds=torch.nn.functional.normalize(torch.randn(5, 384), dim=1), train_idx=torch.arange(5))
    generate = get_family("textgan").fid_generate_fn(generator, data, torch.device("cpu"))
    first = generate(3, torch.Generator().manual_seed(0))
    assert first.shape[0] == 3 and len(seen) == 1
    assert seen[0] is not None and seen[0].shape == (3, generator.config.condition_dim)
    assert torch.equal(first, generate(3, torch.Generator().manual_seed(0)))  # reproducible from the seed
