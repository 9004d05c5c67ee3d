"""Pipelines: Hub-layout round trips, reproducible seeds, outputs, interpolation, style mixing, bad inputs."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest
import torch

from tiny import RESOLUTION, save_tiny_checkpoint, tiny_pipeline
from zoo.pipelines import (
    GANInterpolationPipeline,
    GANSamplingPipeline,
    GANStyleMixingPipeline,
    ModelLoadError,
    write_gif,
    write_mp4,
)

NOISE_FAMILIES = ["dcgan", "stylegan", "fastgan"]


def _sketch(width: int = 40, height: int = 30) -> PIL.Image.Image:
    image = PIL.Image.new("RGBA", (width, height), (0, 0, 0, 0))
    for x in range(5, width - 5):
        image.putpixel((x, height // 2), (0, 0, 0, 255))
    return image


def _run(family: str, pipe, output_type: str = "np"):
    if family in NOISE_FAMILIES:
        return pipe(batch_size=3, seed=7, output_type=output_type).images
    if family == "pix2pix":
        return pipe([_sketch(), _sketch()], output_type=output_type).images
    return pipe(["a smiling woman", "a man"], num_images_per_prompt=2, seed=3, output_type=output_type).images


@pytest.mark.parametrize("family", ["dcgan", "stylegan", "fastgan", "pix2pix", "textgan"])
def test_save_load_round_trip_reproduces_outputs(family, tmp_path):
    pipe = tiny_pipeline(family)
    before = _run(family, pipe)
    pipe.save_pretrained(str(tmp_path))
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["generator"][0].startswith("zoo")
    assert list((tmp_path / "generator").glob("*.safetensors"))
    assert not list(tmp_path.rglob("*.bin"))
    loaded = type(pipe).from_pretrained(tmp_path)
    after = _run(family, loaded)
    if family == "fastgan":  # spectral norm: not bit-exact after loading (tests/test_models_noise.py)
        np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(before, after)
    assert type(pipe).from_pretrained(tmp_path, torch_dtype=torch.float16).generator.dtype == torch.float16
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['variant'\]"):
        type(pipe).from_pretrained(tmp_path, variant="fp16")  # refused, not silently ignored


@pytest.mark.parametrize("family", NOISE_FAMILIES)
def test_sampling_output_types_and_shapes(family):
    pipe = tiny_pipeline(family)
    pil = pipe(batch_size=2, seed=1).images
    assert len(pil) == 2 and all(isinstance(i, PIL.Image.Image) and i.size == (RESOLUTION, RESOLUTION) for i in pil)
    arr = pipe(batch_size=2, seed=1, output_type="np").images
    assert arr.shape == (2, RESOLUTION, RESOLUTION, 3) and arr.min() >= 0 and arr.max() <= 1
    pt = pipe(batch_size=2, seed=1, output_type="pt").images
    assert pt.shape == (2, 3, RESOLUTION, RESOLUTION)
    np.testing.assert_allclose(pt.permute(0, 2, 3, 1).numpy(), arr, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(pil[0]), np.round(arr[0] * 255).astype(np.uint8))


@pytest.mark.parametrize("family", NOISE_FAMILIES)
def test_an_image_depends_only_on_its_seed(family):
    pipe = tiny_pipeline(family)
    batch = pipe(batch_size=4, seed=10, output_type="np").images
    single = pipe(batch_size=1, seed=12, output_type="np").images
    np.testing.assert_allclose(batch[2], single[0], atol=1e-6)
    assert not np.allclose(batch[0], batch[1])
    by_list = pipe(seeds=[12, 10], output_type="np").images
    np.testing.assert_allclose(by_list[1], batch[0], atol=1e-6)
    gen = pipe(batch_size=2, generator=torch.Generator().manual_seed(5), output_type="np").images
    gen2 = pipe(batch_size=2, generator=torch.Generator().manual_seed(5), output_type="np").images
    np.testing.assert_array_equal(gen, gen2)


def test_truncation_psi_zero_gives_the_mean_w_image():
    pipe = tiny_pipeline("stylegan")
    images = pipe(batch_size=3, seed=0, truncation_psi=0.0, output_type="pt").images
    mean_image = pipe.postprocess(pipe.generator.synthesize(pipe.generator.mean_w()), "pt")
    for image in images:
        torch.testing.assert_close(image, mean_image[0], atol=1e-5, rtol=0)
    untruncated = pipe(batch_size=1, seed=0, truncation_psi=1.0, output_type="pt").images
    assert (untruncated[0] - mean_image[0]).abs().max() > 1e-3


def test_class_conditional_sampling_and_labels():
    pipe = tiny_pipeline("dcgan", num_classes=3)
    a = pipe(batch_size=2, seed=0, class_labels=0, output_type="np").images
    b = pipe(batch_size=2, seed=0, class_labels=[2, 2], output_type="np").images
    assert a.shape == b.shape and not np.allclose(a, b)
    with pytest.raises(ValueError, match="class"):
        pipe(batch_size=1, seed=0)
    with pytest.raises(ValueError, match="class labels must be in"):
        pipe(batch_size=1, seed=0, class_labels=3)


@pytest.mark.parametrize("family", NOISE_FAMILIES)
@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_interpolation_endpoints_are_the_seed_images(family, method):
    sampler = tiny_pipeline(family)
    interp = GANInterpolationPipeline(generator=sampler.generator)
    frames = interp(seed_a=3, seed_b=9, num_frames=5, method=method, output_type="pt").images
    ends = sampler(seeds=[3, 9], output_type="pt").images
    assert frames.shape[0] == 5
    torch.testing.assert_close(frames[0], ends[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(frames[-1], ends[1], atol=1e-5, rtol=0)
    assert (frames[2] - frames[0]).abs().max() > 1e-3


def test_interpolation_in_w_space_and_animation_files(tmp_path):
    interp = GANInterpolationPipeline(generator=tiny_pipeline("stylegan").generator)
    frames = interp(seed_a=0, seed_b=1, num_frames=4, space="w", truncation_psi=0.8).images
    assert len(frames) == 4
    gif = write_gif(frames, tmp_path / "walk.gif", fps=5)
    with PIL.Image.open(gif) as g:
        assert g.n_frames == 6  # 4 frames there and 2 back
        assert min(g.size) >= 256
    mp4 = write_mp4(frames, tmp_path / "walk.mp4", fps=5)
    assert mp4.stat().st_size > 1000 and mp4.read_bytes()[4:8] == b"ftyp"


def test_interpolation_loads_a_sampling_checkpoint(tmp_path):
    save_tiny_checkpoint("dcgan", tmp_path)
    interp = GANInterpolationPipeline.from_pretrained(tmp_path)
    assert len(interp(num_frames=3).images) == 3


def test_style_mixing_changes_only_what_the_range_takes():
    pipe = GANStyleMixingPipeline(generator=tiny_pipeline("stylegan").generator)
    a, b, mixed = pipe(seed_a=1, seed_b=2, style_range="middle", output_type="pt").images
    assert (mixed - a).abs().max() > 1e-4 and (mixed - b).abs().max() > 1e-4
    # Taking no layers from B leaves A untouched; taking all of them gives B.
    with pytest.raises(ValueError):
        pipe(seed_a=1, seed_b=2, style_range=[])
    a2, _, all_b = pipe(seed_a=1, seed_b=2, style_range=list(range(pipe.generator.num_ws)), output_type="pt").images
    torch.testing.assert_close(all_b, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(a2, a)
    # Middle layers leave the layout alone more than coarse ones: the coarse mix moves further from A at low frequency.
    blur = torch.nn.functional.avg_pool2d
    fine_low = (blur(mixed[None], 8) - blur(a[None], 8)).abs().mean()
    coarse = pipe(seed_a=1, seed_b=2, style_range="coarse", output_type="pt").images[2]
    coarse_low = (blur(coarse[None], 8) - blur(a[None], 8)).abs().mean()
    assert coarse_low > fine_low


def test_style_mixing_refuses_dcgan():
    pipe = GANStyleMixingPipeline(generator=tiny_pipeline("dcgan").generator)
    with pytest.raises(ValueError, match="StyleGAN"):
        pipe(seed_a=0, seed_b=1)


def test_sketch_to_photo_keeps_aspect_and_accepts_canvas_formats():
    pipe = tiny_pipeline("pix2pix")
    photo = pipe(_sketch(80, 40)).images[0]
    assert photo.size == (80, 40)
    grey = np.full((50, 50), 255, dtype=np.uint8)
    grey[10:40, 25] = 0
    assert pipe(grey).images[0].size == (50, 50)
    with pytest.raises(ValueError, match="empty"):
        pipe(PIL.Image.new("RGBA", (64, 64), (0, 0, 0, 0)))
    sketch = pipe.sketch_of(PIL.Image.new("RGB", (32, 32), (200, 120, 90)))
    assert sketch.size == (32, 32)


def test_text_to_image_prompts_seeds_and_errors():
    pipe = tiny_pipeline("textgan")
    out = pipe(["a smiling woman", "an old man"], num_images_per_prompt=2, seed=5, output_type="np").images
    assert out.shape == (4, RESOLUTION, RESOLUTION, 3)
    again = pipe("an old man", num_images_per_prompt=2, seed=5, output_type="np").images
    np.testing.assert_allclose(out[2:], again, atol=1e-6)
    assert not np.allclose(out[0], out[2])
    for bad in ["", "   ", []]:
        with pytest.raises(ValueError, match="empty"):
            pipe(bad)
    with pytest.raises(ValueError, match="long"):
        pipe("x" * 10_000)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": -1}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "whole number"),
        ({"truncation_psi": 1.5}, "truncation psi"),
        ({"truncation_psi": -0.1}, "truncation psi"),
        ({"truncation_psi": float("nan")}, "truncation psi"),
        ({"seed": -3}, "seed"),
        ({"output_type": "jpeg"}, "output_type"),
    ],
)
def test_bad_sampling_inputs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline("dcgan")(**kwargs)


def test_bad_interpolation_inputs():
    pipe = GANInterpolationPipeline(generator=tiny_pipeline("dcgan").generator)
    for kwargs, message in [({"num_frames": 1}, "num_frames"), ({"method": "cubic"}, "method"), ({"space": "x"}, "space")]:
        with pytest.raises(ValueError, match=message):
            pipe(**kwargs)


def test_corrupt_missing_and_pickle_only_weights_are_refused(tmp_path):
    save_tiny_checkpoint("dcgan", tmp_path / "ok")
    weights = next((tmp_path / "ok" / "generator").glob("*.safetensors"))

    corrupt = tmp_path / "corrupt"
    save_tiny_checkpoint("dcgan", corrupt)
    target = corrupt / "generator" / weights.name
    target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
    with pytest.raises(ModelLoadError, match="could not load"):
        GANSamplingPipeline.from_pretrained(corrupt)

    missing = tmp_path / "missing"
    save_tiny_checkpoint("dcgan", missing)
    (missing / "generator" / weights.name).unlink()
    with pytest.raises(ModelLoadError, match="no .safetensors"):
        GANSamplingPipeline.from_pretrained(missing)

    pickled = tmp_path / "pickled"
    save_tiny_checkpoint("dcgan", pickled)
    (pickled / "generator" / weights.name).unlink()
    (pickled / "generator" / "diffusion_pytorch_model.bin").write_bytes(b"not to be unpickled")
    with pytest.raises(ModelLoadError, match="pickle"):
        GANSamplingPipeline.from_pretrained(pickled)

    with pytest.raises(ModelLoadError, match="model_index.json"):
        GANSamplingPipeline.from_pretrained(tmp_path)
