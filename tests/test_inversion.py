"""GAN inversion: the latent found for a photo draws that photo better than the average latent does."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest
import torch

from tiny import tiny_generator
from zoo.pipelines import GANInversionPipeline, GANSamplingPipeline
from zoo.pipelines.inversion import square_crop


def _l1(a: PIL.Image.Image, b: PIL.Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).mean() / 255)


@pytest.mark.parametrize("family", ["stylegan", "dcgan"])
def test_inversion_reconstructs_a_generated_image(family):
    """A photo the model can draw exactly (one of its own samples) must be found again, closely."""
    generator = tiny_generator(family)
    pipe = GANInversionPipeline(generator=generator)
    with torch.no_grad():
        target = pipe.postprocess(generator(torch.randn(1, generator.config.latent_dim, generator=torch.Generator().manual_seed(3))), "pil")[0]
        average = pipe.postprocess(generator.synthesize(generator.mean_w().expand(1, generator.num_ws, -1)), "pil")[0]
    steps = []
    out = pipe(target, num_steps=40, callback=lambda step, total, loss: steps.append((step, total)))
    assert out.target.size == target.size and out.w.shape == (1, generator.num_ws, generator.w_dim)
    assert steps[-1] == (40, 40) and out.losses[-1] < out.losses[0]
    assert _l1(out.image, out.target) < 0.7 * _l1(average, out.target)
    # A morph from the photo to a seed starts at the reconstruction and ends at that seed's face.
    frames = pipe.morph(out.w, seed=5, num_frames=4)
    assert len(frames) == 4 and np.array_equal(np.asarray(frames[0]), np.asarray(out.image))
    seed_face = GANSamplingPipeline(generator=generator)(seed=5).images[0]
    assert _l1(frames[-1], seed_face) < 2 / 255


def test_square_crop_keeps_the_centre():
    image = PIL.Image.new("RGB", (300, 100), "white")
    image.paste((255, 0, 0), (100, 0, 200, 100))  # the centre square is red
    crop = square_crop(image, 32)
    assert crop.size == (32, 32) and crop.getpixel((16, 16)) == (255, 0, 0)


def test_models_without_a_latent_are_refused():
    with pytest.raises(ValueError, match="no latent to invert"):
        GANInversionPipeline(generator=tiny_generator("pix2pix"))(PIL.Image.new("RGB", (32, 32)))
    with pytest.raises(ValueError, match="class-conditional"):
        GANInversionPipeline(generator=tiny_generator("dcgan", num_classes=2))(PIL.Image.new("RGB", (32, 32)))
    with pytest.raises(ValueError, match="num_steps"):
        GANInversionPipeline(generator=tiny_generator("dcgan"))(PIL.Image.new("RGB", (32, 32)), num_steps=0)
