"""FID/KID (and paired metrics for sketch-to-photo) of the EMA generator, via training.metrics.

Metrics that cannot be computed (e.g. the Inception weights are not installed, or the real set is
too small) come back as ``None`` with a logged reason: a missing number is never invented.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from training import quality
from training.config import TrainConfig
from training.data import TrainData
from training.families import Family
from training.outputs import empty_metrics


def real_feature_cache_path(data: TrainData) -> Path:
    """Inception features of the training split live next to the data cache (computed once per split)."""
    digest = hashlib.sha256(data.train_idx.numpy().tobytes()).hexdigest()[:12]
    return data.cache_path.with_name(f"{data.cache_path.stem}-fid-train-{digest}.safetensors")


def fid_kid(
    family: Family, G: nn.Module, data: TrainData, cfg: TrainConfig, device: torch.device, step: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    result = empty_metrics(step, "train")
    if len(data.train_idx) < 2:
        log("FID/KID skipped: the training split has fewer than 2 images")
        return result
    try:
        from training.metrics import RealFeatureCache, compute_fid_kid

        real = RealFeatureCache.load_or_compute(
            real_feature_cache_path(data), family.fid_real_images(data), batch_size=cfg.fid_batch_size, device=device
        )
        was_training = G.training
        G.eval()
        try:
            scores = compute_fid_kid(
                family.fid_generate_fn(G, data, device), real, num_generated=cfg.num_fid_samples,
                batch_size=cfg.fid_batch_size, device=device, seed=cfg.seed, progress=False, return_features=True,
            )
        finally:
            G.train(was_training)
    except (ModuleNotFoundError, FileNotFoundError) as err:
        log(f"FID/KID skipped: {err}")
        return result
    result.update(scores)
    result.update(fidelity_and_variety(result.pop("features"), real.features))
    return result


def fidelity_and_variety(fake: torch.Tensor, real: torch.Tensor, k: int = quality.DEFAULT_K) -> dict[str, Any]:
    """Precision/recall on a generated set the size of the real set (as the metric assumes), and
    the diversity ratio; ``None`` where the sets are too small for a k-NN manifold."""
    n = min(fake.shape[0], real.shape[0])
    if n <= k:
        return {"precision": None, "recall": None, "diversity": None}
    pr = quality.precision_recall(real, fake[:n], k)
    return {
        "precision": pr["precision"], "recall": pr["recall"], "pr_k": k, "pr_num_fake": n,
        "diversity": quality.diversity_ratio(fake, real),
    }


def paired(family: Family, G: nn.Module, data: TrainData, device: torch.device) -> dict[str, Any]:
    was_training = G.training
    G.eval()
    try:
        return family.paired_eval(G, data, device)
    finally:
        G.train(was_training)
