"""The shared XDoG sketch extractor and canvas normalisation for sketch-to-photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.sketch import (
    default_sigma,
    extract_sketch,
    normalize_canvas,
    pil_to_tensor,
    restore_aspect,
    sketch_from_pil,
    tensor_to_pil,
)

FACE = Path(__file__).resolve().parents[1] / "data" / "london_faces" / "images" / "001_neutral.jpg"


def _square_photo(size: int = 64) -> torch.Tensor:
    """A dark square on a light background: edges only along the square's border."""
    image = torch.full((3, size, size), 0.6)
    image[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = -0.8
    return image


# --- extract_sketch ------------------------------------------------------------------------------


def test_lines_on_edges_white_elsewhere() -> None:
    sketch = extract_sketch(_square_photo(64))
    assert sketch.shape == (3, 64, 64)
    assert torch.equal(sketch[0], sketch[1]) and torch.equal(sketch[1], sketch[2])
    grey = sketch[0]
    # flat regions (outside, and inside the dark square) stay paper-white
    assert grey[2, 2] == 1.0 and grey[32, 32] == 1.0 and grey[60, 60] == 1.0
    # a dark line runs along the square's border, on its dark side
    assert grey[16, 20:44].mean() < -0.5 and grey[20:44, 16].mean() < -0.5
    assert (grey < 0).float().mean() < 0.2


def test_constant_image_is_blank_paper() -> None:
    assert torch.equal(extract_sketch(torch.full((2, 3, 32, 32), -0.3)), torch.ones(2, 3, 32, 32))


def test_batched_matches_single_and_is_deterministic() -> None:
    torch.manual_seed(0)
    batch = torch.rand(3, 3, 48, 48) * 2 - 1
    out = extract_sketch(batch)
    assert out.shape == batch.shape
    assert torch.equal(out, extract_sketch(batch))
    for i in range(3):
        # phi=200 amplifies conv rounding that depends on batch layout; 1e-4 is far below one grey level
        torch.testing.assert_close(out[i], extract_sketch(batch[i]), atol=1e-4, rtol=0)
    assert out.min() >= -1 and out.max() <= 1


def test_dtype_preserved_and_half_precision_works() -> None:
    image = _square_photo(32)
    assert extract_sketch(image.double()).dtype == torch.float64
    half = extract_sketch(image.to(torch.bfloat16))
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), extract_sketch(image), atol=0.02, rtol=0)


def test_parameters_change_the_result() -> None:
    image = _square_photo(64)
    assert not torch.equal(extract_sketch(image, sigma=0.6), extract_sketch(image, sigma=2.0))
    assert default_sigma(64) == pytest.approx(0.6) and default_sigma(256) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="k > 1"):
        extract_sketch(image, k=1.0)


def test_extract_sketch_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="torch.Tensor"):
        extract_sketch(np.zeros((3, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        extract_sketch(torch.zeros(1, 4, 8, 8))
    with pytest.raises(ValueError, match="float"):
        extract_sketch(torch.zeros(3, 8, 8, dtype=torch.uint8))


@pytest.mark.skipif(not FACE.is_file(), reason="london_faces sample image not available")
@pytest.mark.parametrize("size", [64, 256])
def test_real_face_gives_sparse_line_art(size: int) -> None:
    photo = Image.open(FACE).convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    sketch = extract_sketch(pil_to_tensor(photo))
    white = (sketch[0] > 0.9).float().mean().item()
    black = (sketch[0] < -0.5).float().mean().item()
    assert white > 0.8, f"only {white:.0%} white: not line art"
    assert black > 0.02, f"only {black:.1%} ink: the face has no lines"
    # ink sits where the photo has edges: gradient magnitude is higher under lines than on paper
    grey = pil_to_tensor(photo).mean(0)
    grad = (grey[1:, 1:] - grey[:-1, 1:]).abs() + (grey[1:, 1:] - grey[1:, :-1]).abs()
    lines = sketch[0, 1:, 1:] < -0.5
    assert grad[lines].mean() > 3 * grad[~lines].mean()

    as_pil = sketch_from_pil(Image.open(FACE).resize((size, size), Image.Resampling.LANCZOS))
    assert as_pil.size == (size, size) and as_pil.mode == "RGB"
    np.testing.assert_allclose(np.asarray(as_pil, dtype=np.float32), np.asarray(tensor_to_pil(sketch), dtype=np.float32), atol=1)


# --- normalize_canvas / restore_aspect -----------------------------------------------------------


def _stroke_rgba(width: int = 80, height: int = 80, transparent_rgb: int = 0) -> np.ndarray:
    """A Sketchpad-like canvas: transparent everywhere (RGB underneath = ``transparent_rgb``), one black stroke."""
    canvas = np.zeros((height, width, 4), dtype=np.uint8)
    canvas[..., :3] = transparent_rgb
    canvas[height // 2 - 2 : height // 2 + 2, 10 : width - 10] = (0, 0, 0, 255)
    return canvas


def test_rgba_canvas_composites_onto_white() -> None:
    # Transparent pixels are *black* underneath (as browsers often export them): must still be white.
    for image in (_stroke_rgba(), Image.fromarray(_stroke_rgba(), mode="RGBA")):
        tensor, size = normalize_canvas(image, 32)
        assert tensor.shape == (1, 3, 32, 32) and tensor.dtype == torch.float32
        assert size == (80, 80)
        assert tensor[0, :, 2, 2].tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)
        assert tensor[0, :, 16, 16].max() < -0.5  # the stroke
        assert (tensor > 0.99).float().mean() > 0.8


def test_palette_image_with_transparency() -> None:
    rgba = Image.fromarray(_stroke_rgba(transparent_rgb=0), mode="RGBA")
    palette = rgba.convert("P")  # transparent index recorded in info["transparency"]
    palette.info["transparency"] = palette.getpixel((0, 0))
    tensor, _ = normalize_canvas(palette, 32)
    assert tensor[0, :, 2, 2].min() > 0.99 and tensor[0, :, 16, 16].max() < -0.5


def test_greyscale_16bit_and_float_inputs_agree_with_rgb() -> None:
    grey8 = np.full((40, 60), 255, dtype=np.uint8)
    grey8[10:30, 20:25] = 0
    reference, size = normalize_canvas(np.repeat(grey8[..., None], 3, axis=2), 32)
    assert size == (60, 40)
    variants = {
        "L": Image.fromarray(grey8, mode="L"),
        "HxW uint8": grey8,
        "HxW uint16": grey8.astype(np.uint16) * 257,
        "big-endian uint16": (grey8.astype(np.uint16) * 257).astype(">u2"),
        "I (32-bit, 16-bit PNG range)": Image.fromarray(grey8.astype(np.int32) * 257, mode="I"),
        "I;16": Image.fromarray(grey8.astype(np.uint16) * 257),
        "float [0,1]": grey8.astype(np.float32) / 255,
        "HxWx1": grey8[..., None],
        "bool": grey8 > 0,
        "tensor": torch.from_numpy(grey8.astype(np.float32) / 127.5 - 1).expand(3, -1, -1),
        "LA": Image.fromarray(grey8, mode="L").convert("LA"),
    }
    for name, image in variants.items():
        tensor, variant_size = normalize_canvas(image, 32)
        assert variant_size == (60, 40), name
        torch.testing.assert_close(tensor, reference, atol=1e-3, rtol=0, msg=name)


def test_odd_aspect_pads_with_white_and_restores() -> None:
    canvas = np.full((50, 150, 3), 255, dtype=np.uint8)  # wide: padded above and below
    canvas[20:30, 5:40] = 0  # a stroke in the left part
    tensor, size = normalize_canvas(canvas, 60)
    assert size == (150, 50)
    # 150 -> 60: the 50-high content sits in rows 20..40; the padding rows are white
    assert (tensor[0, :, :18] > 0.99).all() and (tensor[0, :, 42:] > 0.99).all()
    assert tensor[0, 0, 30, 10] < -0.5

    restored = restore_aspect(tensor_to_pil(tensor), size)
    assert restored.size == (150, 50)
    restored_grey = np.asarray(restored.convert("L"), dtype=np.float32)
    assert restored_grey[25, 20] < 80  # the stroke is back where it was drawn
    assert restored_grey[25, 100] > 240 and restored_grey[2, 75] > 240  # no padding border left in view
    # tall image: padding is on the left and right
    tall, tall_size = normalize_canvas(np.ascontiguousarray(canvas.transpose(1, 0, 2)), 60)
    assert tall_size == (50, 150)
    assert (tall[0, :, :, :18] > 0.99).all() and (tall[0, :, :, 42:] > 0.99).all()
    assert restore_aspect(tensor_to_pil(tall), tall_size).size == (50, 150)


def test_blank_canvases_are_rejected() -> None:
    blanks = {
        "white": np.full((64, 64, 3), 255, dtype=np.uint8),
        "transparent": np.zeros((64, 64, 4), dtype=np.uint8),
        "transparent PIL": Image.new("RGBA", (64, 64), (0, 0, 0, 0)),
        "white L": Image.new("L", (30, 50), 255),
        "gradio dict": {"background": None, "layers": [], "composite": Image.new("RGBA", (64, 64), (0, 0, 0, 0))},
    }
    for name, image in blanks.items():
        with pytest.raises(ValueError, match="empty"):
            normalize_canvas(image, 32)
            pytest.fail(name)
    tensor, _ = normalize_canvas({"composite": Image.fromarray(_stroke_rgba(), mode="RGBA")}, 32)
    assert tensor.min() < -0.5


def test_zero_size_and_non_images_are_rejected() -> None:
    for image in (np.zeros((0, 10, 3), dtype=np.uint8), np.zeros((10, 0), dtype=np.uint8), Image.new("RGB", (0, 5))):
        with pytest.raises(ValueError, match="zero-size"):
            normalize_canvas(image, 32)
    for bad in ("sketch.png", None, [[0, 1], [1, 0]], 3):
        with pytest.raises(ValueError, match="expected a PIL image"):
            normalize_canvas(bad, 32)
    with pytest.raises(ValueError, match="channels last"):
        normalize_canvas(np.zeros((3, 4, 5, 6), dtype=np.uint8), 32)
    with pytest.raises(ValueError, match="NaN"):
        normalize_canvas(np.full((8, 8), np.nan, dtype=np.float32), 32)
    with pytest.raises(ValueError, match="resolution"):
        normalize_canvas(np.zeros((8, 8), dtype=np.uint8), 0)
    with pytest.raises(ValueError, match="original_size"):
        restore_aspect(Image.new("RGB", (32, 32)), (0, 10))


def test_sketch_from_photo_through_canvas_round_trip() -> None:
    """A photo's sketch fed back through normalize_canvas stays the same sketch (the app's upload path)."""
    photo = tensor_to_pil(_square_photo(64))
    sketch = sketch_from_pil(photo)
    tensor, size = normalize_canvas(sketch, 64)
    assert size == (64, 64)
    torch.testing.assert_close(tensor[0], pil_to_tensor(sketch), atol=2 / 255, rtol=0)
