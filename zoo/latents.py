"""Latent-space tools shared by the pipelines, the trainer and the app.

These are pure tensor functions with no model imports, so the interpolation and style-mixing
pipelines, the Gradio app and the tests all agree on what "slerp", "truncation" or "the fine
layers" mean. The only thing they need from a generator is ``layer_resolutions()`` (duck-typed).
"""

from __future__ import annotations

import operator
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

import torch

from zoo.limits import STYLE_RANGE_NAMES, check_psi

#: Named style-mixing ranges as inclusive ``(min_px, max_px)`` bounds on the resolution a layer
#: works at (``None`` = unbounded). They follow the StyleGAN paper: coarse layers set pose and face
#: shape, middle layers set features such as hair style and eyes, fine layers set colour and texture.
STYLE_RANGES: Mapping[str, Tuple[int, Optional[int]]] = {
    "coarse": (4, 8),
    "middle": (16, 32),
    "fine": (64, None),
}

if tuple(STYLE_RANGES) != STYLE_RANGE_NAMES:  # the names offered (zoo.limits) are the ranges defined here
    raise ImportError(f"STYLE_RANGES {tuple(STYLE_RANGES)} disagree with zoo.limits.STYLE_RANGE_NAMES")

Weight = Union[float, torch.Tensor]

# Slerp treats directions closer than this (|sin(angle)| below it) as parallel: the spherical
# formula divides by sin(angle), which would amplify rounding noise into garbage.
_PARALLEL_EPS = 1e-7


def _check_same_shape(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what} needs tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def _as_weight(t: Weight, like: torch.Tensor) -> torch.Tensor:
    """Turn a float or tensor interpolation weight into a tensor that broadcasts over ``like``."""
    return torch.as_tensor(t, dtype=like.dtype, device=like.device)


def lerp(a: torch.Tensor, b: torch.Tensor, t: Weight) -> torch.Tensor:
    """Linear interpolation ``a + t * (b - a)``, exact at ``t = 0`` and ``t = 1``.

    ``t`` is a float or a tensor that broadcasts against ``a`` (e.g. ``[F, 1]`` against ``[1, D]``
    gives ``F`` frames). ``torch.lerp`` is used because it returns the endpoints bit-exactly.
    """
    _check_same_shape(a, b, "lerp")
    return torch.lerp(a, b, _as_weight(t, a))


def slerp(a: torch.Tensor, b: torch.Tensor, t: Weight) -> torch.Tensor:
    """Spherical interpolation of each vector along the last dimension of ``a`` and ``b``.

    Why: Gaussian latents live near a sphere, and a straight line between two of them passes through
    low-norm regions the generator rarely saw, which shows up as washed-out middle frames. Slerp moves
    the direction along the great circle and interpolates the norm linearly, so it keeps the norm when
    ``|a| == |b|``. Rows whose vectors are (anti)parallel or zero fall back to :func:`lerp`, where the
    great circle is undefined. ``t = 0`` and ``t = 1`` return ``a`` and ``b`` exactly.

    ``t`` is a float or a tensor ending in a size-1 dim that broadcasts against ``a[..., :1]``
    (e.g. ``interpolation_weights(F)[:, None]`` against ``[1, D]`` gives ``F`` frames).
    """
    _check_same_shape(a, b, "slerp")
    if a.ndim == 0:
        raise ValueError("slerp needs vectors (at least one dimension), got scalars")
    out_dtype = a.dtype if a.is_floating_point() else torch.get_default_dtype()
    # Float64 internally: acos/sin near the ends lose several digits in float32.
    a64, b64 = a.double(), b.double()
    t64 = _as_weight(t, a64)
    if t64.ndim > 0 and t64.shape[-1] != 1:
        raise ValueError(
            f"slerp weights apply per vector: pass a float or a tensor with a trailing size-1 dim "
            f"(e.g. t[:, None]), got shape {tuple(t64.shape)}"
        )
    norm_a = a64.norm(dim=-1, keepdim=True)
    norm_b = b64.norm(dim=-1, keepdim=True)
    unit_a = a64 / norm_a.clamp_min(torch.finfo(torch.float64).tiny)
    unit_b = b64 / norm_b.clamp_min(torch.finfo(torch.float64).tiny)
    cos_angle = (unit_a * unit_b).sum(dim=-1, keepdim=True).clamp(-1.0, 1.0)
    angle = torch.acos(cos_angle)
    sin_angle = torch.sin(angle)
    degenerate = (sin_angle.abs() < _PARALLEL_EPS) | (norm_a == 0) | (norm_b == 0)
    safe_sin = torch.where(degenerate, torch.ones_like(sin_angle), sin_angle)
    direction = (torch.sin((1 - t64) * angle) * unit_a + torch.sin(t64 * angle) * unit_b) / safe_sin
    spherical = direction * torch.lerp(norm_a, norm_b, t64)
    linear = torch.lerp(a64, b64, t64)
    result = torch.where(degenerate, linear, spherical)
    # Return the endpoints bit-exactly (the formula above rounds them).
    result = torch.where(t64 == 0, a64, torch.where(t64 == 1, b64, result))
    return result.to(out_dtype)


def interpolation_weights(num_frames: int) -> torch.Tensor:
    """``num_frames`` evenly spaced weights from exactly 0 to exactly 1 (float32)."""
    if isinstance(num_frames, bool) or not isinstance(num_frames, int):
        raise ValueError(f"num_frames must be an int, got {num_frames!r}")
    if num_frames < 2:
        raise ValueError(f"num_frames must be at least 2 (the two endpoints), got {num_frames}")
    weights = torch.linspace(0.0, 1.0, num_frames)
    weights[0], weights[-1] = 0.0, 1.0
    return weights


def truncate(w: torch.Tensor, w_avg: torch.Tensor, psi: float) -> torch.Tensor:
    """The truncation trick ``w_avg + psi * (w - w_avg)``: trade variety for typical-looking samples.

    ``w_avg`` broadcasts against ``w``. ``psi = 1`` returns ``w`` unchanged and ``psi = 0`` returns the
    (broadcast) mean exactly, so "untruncated" and "the mean image" are reproducible bit for bit.
    """
    psi = check_psi(psi)
    if psi == 1.0:
        return w
    centre = w_avg.to(dtype=w.dtype, device=w.device).expand_as(w)
    return torch.lerp(centre, w, psi)


def style_mix(w_a: torch.Tensor, w_b: torch.Tensor, layers: Iterable[int]) -> torch.Tensor:
    """``w_a`` with the style vectors of ``layers`` taken from ``w_b`` (both ``[B, num_ws, w_dim]``).

    A batch of 1 on either side broadcasts, so one source can be mixed into many destinations.
    """
    if w_a.ndim != 3 or w_b.ndim != 3:
        raise ValueError(
            f"style_mix needs w tensors of shape [B, num_ws, w_dim], got {tuple(w_a.shape)} and {tuple(w_b.shape)}"
        )
    if w_a.shape[1:] != w_b.shape[1:]:
        raise ValueError(
            f"w_a and w_b must have the same [num_ws, w_dim], got {tuple(w_a.shape)} and {tuple(w_b.shape)}"
        )
    try:
        w_a, w_b = torch.broadcast_tensors(w_a, w_b)
    except RuntimeError as err:
        raise ValueError(f"batch sizes {w_a.shape[0]} and {w_b.shape[0]} cannot be broadcast") from err
    num_ws = w_a.shape[1]
    indices = sorted({operator.index(layer) for layer in layers})
    bad = [layer for layer in indices if not 0 <= layer < num_ws]
    if bad:
        raise ValueError(f"style layers must be in [0, {num_ws - 1}], got {bad}")
    mixed = w_a.clone()
    if indices:
        mixed[:, indices] = w_b[:, indices]
    return mixed



def _layer_resolutions(source: Union[Sequence[int], object]) -> list[int]:
    """Accept either a generator with ``layer_resolutions()`` or the list it returns."""
    getter = getattr(source, "layer_resolutions", None)
    resolutions = getter() if callable(getter) else source
    try:
        return [int(r) for r in resolutions]  # type: ignore[union-attr]
    except TypeError as err:
        raise ValueError(
            "expected a generator with layer_resolutions() or a list of per-layer resolutions, "
            f"got {type(source).__name__}"
        ) from err


def _in_range(resolution: int, name: str) -> bool:
    low, high = STYLE_RANGES[name]
    return resolution >= low and (high is None or resolution <= high)


def available_style_ranges(generator_or_layer_resolutions: Union[Sequence[int], object]) -> list[str]:
    """The range names that select at least one layer (a 32px model has no fine layers)."""
    resolutions = _layer_resolutions(generator_or_layer_resolutions)
    return [name for name in STYLE_RANGES if any(_in_range(r, name) for r in resolutions)]


def layers_for_range(generator_or_layer_resolutions: Union[Sequence[int], object], name: str) -> list[int]:
    """Indices of the w layers in a named range (``"coarse"``, ``"middle"``, ``"fine"``).

    Raises ``ValueError`` for an unknown name or a range this generator has no layers in, because
    mixing an empty range would silently return the unmixed image.
    """
    if name not in STYLE_RANGES:
        raise ValueError(f"unknown style range {name!r}; choose one of {sorted(STYLE_RANGES)}")
    resolutions = _layer_resolutions(generator_or_layer_resolutions)
    layers = [index for index, resolution in enumerate(resolutions) if _in_range(resolution, name)]
    if not layers:
        raise ValueError(
            f"style range {name!r} selects no layers for a generator with layer resolutions "
            f"{sorted(set(resolutions))}; "
            f"available: {available_style_ranges(resolutions)}"
        )
    return layers


def latents_from_seed(seed: int, latent_dim: int, batch: int = 1) -> torch.Tensor:
    """Standard-normal ``z [batch, latent_dim]`` from a seed, identical on every machine.

    A CPU ``torch.Generator`` is used because CUDA and CPU generators draw different numbers for the
    same seed; move the result to the model's device afterwards.
    """
    if isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    try:
        seed = operator.index(seed)
    except TypeError as err:
        raise ValueError(f"seed must be an integer, got {seed!r}") from err
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must satisfy 0 <= seed < 2**63, got {seed}")
    for name, value in (("latent_dim", latent_dim), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.randn(batch, latent_dim, generator=generator)


_STREAM_MIX = 0x9E3779B97F4A7C15


def stream_seed(seed: int, stream: int) -> int:
    """A seed for a second, independent random stream tied to ``seed`` (e.g. the text model's
    conditioning-augmentation noise next to its z).

    Why not reuse ``seed``: two draws from equally seeded generators are the same numbers, and
    even a flipped copy of z shares most of its values with z (torch fills normal values in
    blocks), so the "two" noises would be one. Mixing the seed with a large odd constant gives
    an unrelated stream, still the same on every machine.
    """
    return ((seed + 1) * _STREAM_MIX + stream * 0xBF58476D1CE4E5B9) % 2**63
