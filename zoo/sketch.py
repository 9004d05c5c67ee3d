"""Sketches: the one line-art extractor, and turning a user's canvas into a model input and back.

Training pairs, tests and the app must all use the *same* photo -> sketch function, otherwise the
sketch-to-photo model is trained on one kind of line art and shown another. That function is
:func:`extract_sketch`: XDoG (Winnemoeller et al., 2012), i.e. a difference of Gaussians on the
luminance with a soft threshold, written with batched ``conv2d`` so the trainer can run it on GPU
batches. It has no randomness, so a given photo always gives the same sketch.

:func:`normalize_canvas` accepts what a user (or Gradio's Sketchpad) hands over -- transparent
canvases, greyscale, 16-bit, any aspect ratio -- and makes the square ``[-1, 1]`` tensor the model
expects; :func:`restore_aspect` undoes the square padding on the generated photo (at the input's
size, or at :func:`size_at_resolution` to show what the model drew without enlarging it).
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

#: Rec. 601 luma weights; the lines only need a perceptual brightness, not a colour-managed one.
_LUMA = (0.299, 0.587, 0.114)

#: A canvas whose brightest and darkest pixels differ by less than this (in [0, 1]) has no strokes.
_BLANK_TOLERANCE = 1.0 / 255.0

ImageLike = Union[Image.Image, np.ndarray, torch.Tensor, dict]


def _gaussian_kernel(sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).to(device=device, dtype=dtype)


def _gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable blur of ``[B, 1, H, W]``; reflect padding so borders do not become edges."""
    kernel = _gaussian_kernel(sigma, images.dtype, images.device)
    radius = kernel.numel() // 2
    # Reflect padding needs the pad to be smaller than the side; replicate covers tiny images.
    mode = "reflect" if min(images.shape[-2:]) > radius else "replicate"
    out = F.conv2d(F.pad(images, (radius, radius, 0, 0), mode=mode), kernel.view(1, 1, 1, -1))
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode=mode), kernel.view(1, 1, -1, 1))


def default_sigma(size: int) -> float:
    """XDoG scale for an image whose shorter side is ``size`` px (tuned on faces at 64-256 px)."""
    return max(0.4, 0.6 + 0.2 * math.log2(max(size, 1) / 64))


def extract_sketch(
    images: torch.Tensor,
    *,
    sigma: Optional[float] = None,
    k: float = 1.6,
    tau: float = 0.98,
    epsilon: float = -0.01,
    phi: float = 200.0,
) -> torch.Tensor:
    """Photos ``[B, 3, H, W]`` (or ``[3, H, W]``) in ``[-1, 1]`` -> black-on-white line art, same shape.

    XDoG on the luminance ``Y`` in ``[0, 1]``: ``D = G_sigma(Y) - tau * G_{k*sigma}(Y)``; pixels
    with ``D >= epsilon`` are paper (white) and below it ink fades in as ``1 + tanh(phi * (D - epsilon))``.
    A slightly negative ``epsilon`` keeps flat dark regions (hair, background) white so the result
    is line art rather than a posterised photo. ``sigma`` is in pixels; left as ``None`` it grows
    with the image (:func:`default_sigma`: 0.6 px at 64, 0.8 at 128, 1.0 at 256) so a face gives
    about the same strokes at every resolution instead of hair-texture noise at 256 px or blobs at
    64 px. Output is replicated to 3 channels with white = +1.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a torch.Tensor in [-1, 1], got {type(images).__name__}")
    squeeze = images.ndim == 3
    if squeeze:
        images = images.unsqueeze(0)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape [B, 3, H, W] or [3, H, W], got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be a float tensor in [-1, 1], got dtype {images.dtype}")
    if min(images.shape[-2:]) == 0:
        raise ValueError(f"images must be non-empty, got shape {tuple(images.shape)}")
    if sigma is None:
        sigma = default_sigma(min(images.shape[-2:]))
    if sigma <= 0 or k <= 1:
        raise ValueError(f"need sigma > 0 and k > 1, got sigma={sigma}, k={k}")

    # Half precision loses the small DoG differences the threshold works on.
    work_dtype = torch.float32 if images.dtype in (torch.float16, torch.bfloat16) else images.dtype
    rgb = (images.to(work_dtype).clamp(-1, 1) + 1) / 2
    luma = torch.tensor(_LUMA, dtype=work_dtype, device=images.device).view(1, 3, 1, 1)
    y = (rgb * luma).sum(dim=1, keepdim=True)

    dog = _gaussian_blur(y, sigma) - tau * _gaussian_blur(y, k * sigma)
    paper = torch.ones_like(dog)
    ink = 1 + torch.tanh(phi * (dog - epsilon))
    sketch = torch.where(dog >= epsilon, paper, ink).clamp(0, 1)

    out = (sketch * 2 - 1).expand(-1, 3, -1, -1).to(images.dtype).contiguous()
    return out[0] if squeeze else out


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> ``[3, H, W]`` float in ``[-1, 1]``."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1) * 2 - 1


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """``[3, H, W]`` (or ``[1, 3, H, W]``) in ``[-1, 1]`` -> RGB PIL image."""
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected a [3, H, W] tensor, got {tuple(image.shape)}")
    array = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return Image.fromarray(array.permute(1, 2, 0).numpy(), mode="RGB")


def sketch_from_pil(image: Image.Image, **xdog_kwargs: float) -> Image.Image:
    """Photo -> line-art PIL image at the photo's size (same extractor as training)."""
    if not isinstance(image, Image.Image):
        raise ValueError(f"expected a PIL image, got {type(image).__name__}")
    if image.width == 0 or image.height == 0:
        raise ValueError(f"image is zero-size ({image.width}x{image.height})")
    rgb = _to_float_rgb(image)
    tensor = torch.from_numpy(rgb).permute(2, 0, 1) * 2 - 1
    return tensor_to_pil(extract_sketch(tensor, **xdog_kwargs))


# --- canvas normalisation ------------------------------------------------------------------------


def _scale_to_unit(array: np.ndarray, what: str) -> np.ndarray:
    """Integer/float/bool pixel data -> float32 in [0, 1], judging the range by dtype (or values)."""
    if not array.dtype.isnative:  # big-endian 16-bit PNG data, for instance
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        if array.size and int(array.min()) < 0:
            raise ValueError(f"{what} has negative pixel values; expected unsigned image data")
        if array.dtype == np.uint8:
            scale = 255.0
        elif array.dtype == np.uint16:
            scale = 65535.0
        else:
            # Wider ints (PIL's "I" mode holds 16-bit PNGs): 8-bit range unless values say otherwise.
            peak = int(array.max()) if array.size else 0
            if peak > 65535:
                raise ValueError(f"{what} has pixel values up to {peak}; expected 8- or 16-bit data")
            scale = 65535.0 if peak > 255 else 255.0
        return array.astype(np.float32) / scale
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
        if not np.isfinite(array).all():
            raise ValueError(f"{what} contains NaN or infinite pixel values")
        lo, hi = float(array.min()), float(array.max())
        if lo < 0:
            raise ValueError(f"{what} has negative float pixel values; expected [0, 1] (or [0, 255])")
        if hi <= 1.0:
            return array
        if hi <= 255.0:
            return array / 255.0
        raise ValueError(f"{what} has float pixel values up to {hi}; expected [0, 1] (or [0, 255])")
    raise ValueError(f"{what} has unsupported pixel dtype {array.dtype}")


def _composite_on_white(array: np.ndarray) -> np.ndarray:
    """``HxWx{1,2,3,4}`` in [0, 1] -> ``HxWx3``; transparent pixels become white paper."""
    channels = array.shape[2]
    if channels in (2, 4):
        colour, alpha = array[..., :-1], array[..., -1:]
        if float(alpha.max()) <= 0.0:
            raise ValueError("sketch canvas is empty (fully transparent); draw something first")
        array = colour * alpha + (1.0 - alpha)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return array


def _to_float_rgb(image: Any) -> np.ndarray:
    """Any supported image-like -> ``HxWx3`` float32 in [0, 1] composited on white."""
    if isinstance(image, dict):
        # Gradio's ImageEditor/Sketchpad value: the flattened drawing is under "composite".
        if image.get("composite") is None:
            raise ValueError("sketch canvas dict has no 'composite' image; draw something first")
        image = image["composite"]

    if isinstance(image, Image.Image):
        if image.width == 0 or image.height == 0:
            raise ValueError(f"image is zero-size ({image.width}x{image.height})")
        mode = image.mode
        if mode in ("RGBA", "LA", "RGB", "L", "F", "1") or mode.startswith("I"):
            array = np.asarray(image)
        elif (mode == "P" and "transparency" in image.info) or mode in ("PA", "RGBa", "La"):
            array = np.asarray(image.convert("RGBA"))
        else:  # P without transparency, CMYK, YCbCr, LAB, HSV...
            array = np.asarray(image.convert("RGB"))
        if mode == "F":
            array = array.astype(np.float32)
        if mode.startswith("I;16"):
            array = array.astype(np.uint16)
        what = f"PIL image (mode {mode})"
    elif isinstance(image, torch.Tensor):
        tensor = image.detach()
        if tensor.ndim == 4 and tensor.shape[0] == 1:
            tensor = tensor[0]
        if tensor.ndim != 3 or tensor.shape[0] not in (1, 3) or not tensor.is_floating_point():
            raise ValueError(
                f"tensor images must be float [3, H, W] or [1, 3, H, W] in [-1, 1], got "
                f"{tuple(tensor.shape)} {tensor.dtype}"
            )
        if tensor.numel() == 0:
            raise ValueError(f"image is zero-size ({tuple(tensor.shape)})")
        array = ((tensor.float().cpu().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
        what = "tensor image"
    elif isinstance(image, np.ndarray):
        array, what = image, f"array image (shape {image.shape}, dtype {image.dtype})"
    else:
        raise ValueError(
            f"expected a PIL image, a numpy array (HxW or HxWxC) or a [3, H, W] tensor, got {type(image).__name__}"
        )

    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"{what}: expected HxW or HxWxC with C in 1..4 (channels last)")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"image is zero-size ({array.shape[1]}x{array.shape[0]})")
    return _composite_on_white(_scale_to_unit(np.asarray(array), what))


def _square_box(width: int, height: int) -> tuple[int, int, int]:
    """Side of the white square canvas and the offsets that centre the image in it."""
    side = max(width, height)
    return side, (side - width) // 2, (side - height) // 2


def normalize_canvas(image: ImageLike, resolution: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """A user's sketch -> (``[1, 3, R, R]`` in ``[-1, 1]``, original ``(width, height)``).

    Accepts a PIL image (any mode, incl. RGBA/LA/P-with-transparency, greyscale, 16-bit), a
    channels-last numpy array (``HxW``, ``HxWx1..4``; uint8, uint16, bool, or float in ``[0, 1]``
    -- floats above 1 are read as ``[0, 255]``), a ``[3, H, W]``/``[1, 3, H, W]`` tensor in
    ``[-1, 1]``, or a Gradio ImageEditor/Sketchpad value (a dict whose ``"composite"`` is one of these).

    Transparency is composited onto white (a Gradio Sketchpad gives strokes on a transparent
    background), the image is padded to a centred white square so the face is not stretched, then
    resized to ``resolution``. A canvas with no strokes (one flat colour, e.g. all white or fully
    transparent) is rejected: generating from it would only show the model's mean face.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"resolution must be a positive int, got {resolution!r}")
    rgb = _to_float_rgb(image)
    if float(rgb.max() - rgb.min()) < _BLANK_TOLERANCE:
        raise ValueError("sketch canvas is empty (every pixel is the same colour); draw something first")

    height, width = rgb.shape[:2]
    side, left, top = _square_box(width, height)
    canvas = np.ones((side, side, 3), dtype=np.float32)
    canvas[top : top + height, left : left + width] = rgb
    # Resize in float ("F" per channel) so 16-bit input keeps its precision until the end.
    channels = [
        np.asarray(Image.fromarray(canvas[..., c], mode="F").resize((resolution, resolution), Image.Resampling.LANCZOS))
        for c in range(3)
    ]
    resized = np.clip(np.stack(channels, axis=0), 0.0, 1.0)
    tensor = torch.from_numpy(resized).unsqueeze(0) * 2 - 1
    return tensor.contiguous(), (width, height)


def size_at_resolution(size: tuple[int, int], resolution: int) -> tuple[int, int]:
    """``(width, height)`` scaled so that the long side is ``resolution``: an input's aspect ratio at the model's size."""
    width, height = size
    scale = resolution / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def restore_aspect(photo: Image.Image, original_size: tuple[int, int]) -> Image.Image:
    """Undo :func:`normalize_canvas`'s square padding: crop the content region, resize to ``original_size``."""
    if not isinstance(photo, Image.Image):
        raise ValueError(f"photo must be a PIL image, got {type(photo).__name__}")
    try:
        width, height = (int(v) for v in original_size)
    except (TypeError, ValueError):
        raise ValueError(f"original_size must be (width, height), got {original_size!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"original_size must be positive, got {original_size!r}")
    side, left, top = _square_box(width, height)
    sx, sy = photo.width / side, photo.height / side
    box = (left * sx, top * sy, (left + width) * sx, (top + height) * sy)
    return photo.resize((width, height), Image.Resampling.LANCZOS, box=box)
