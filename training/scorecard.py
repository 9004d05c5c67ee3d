"""The evaluation suite behind ``python -m training.evaluate``: one model's scorecard and the
real-vs-real reference it is read against.

Two protocols, each stated next to its numbers (numbers measured with different set sizes are
never compared, because k-NN precision/recall and KID depend on them):

* **vs training people** (the bars in the model cards): KID with ``num_samples`` generated images
  against the training split; precision/recall (k=3) with as many generated images as there
  are training images; the diversity ratio; the memorisation ratio against held-out people.
* **vs half of the people** (the comparison with the best possible score): all real people are
  split into two halves by person; the reference is half B against half A, and each model is
  scored with ``|B|`` generated images against the same half A. Same sets, same sizes: this is
  the one table where models and the reference share columns.

Features are the TF-FID Inception pool features of :mod:`training.metrics` throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from training import quality
from training.data import TrainData, split_indices, uint8_to_float
from training.families import Family
from training.generator_metrics import fidelity_and_variety
from training.metrics import InceptionFeatures, RealFeatureCache, frechet_distance, generated_features, kid_of_features

#: Seed of the person split into halves A and B (fixed, so every model meets the same halves).
HALVES_SEED = 0
#: Generated images per condition for within-condition diversity, and conditions used.
PER_CONDITION = 24
NUM_CONDITIONS = 8


@dataclass
class RealSets:
    """Features of every real image and the index sets the protocols use."""

    features: torch.Tensor  # [N, 2048] float64
    train_idx: torch.Tensor
    heldout_idx: torch.Tensor
    half_a: torch.Tensor
    half_b: torch.Tensor

    def of(self, idx: torch.Tensor) -> torch.Tensor:
        return self.features[idx]


def real_sets(data: TrainData, batch_size: int = 50, device: torch.device | str = "cpu") -> RealSets:
    """Inception features of all real images (cached next to the data cache) and the splits."""
    path = data.cache_path.with_name(f"{data.cache_path.stem}-fid-all.safetensors")
    cache = RealFeatureCache.load_or_compute(path, uint8_to_float(data.images), batch_size, device)
    half_a, half_b = split_indices(data.num_images, data.groups, 0.5, HALVES_SEED)
    return RealSets(cache.features, data.train_idx, data.heldout_idx, half_a, half_b)


def half_protocol(real_a: torch.Tensor, other: torch.Tensor, k: int = quality.DEFAULT_K) -> dict[str, Any]:
    """Precision, recall, KID and diversity of ``other`` against half A (both sides at their size)."""
    pr = quality.precision_recall(real_a, other, k)
    kid, kid_std = kid_of_features(real_a, other)
    return {
        "precision": pr["precision"], "recall": pr["recall"], "kid": kid, "kid_std": kid_std,
        "diversity": quality.diversity_ratio(other, real_a), "k": k,
        "num_real": int(real_a.shape[0]), "num_fake": int(other.shape[0]),
    }


def reference_scores(real: RealSets, k: int = quality.DEFAULT_K) -> dict[str, Any]:
    """The best any model can score under the half protocol: real half B against real half A."""
    return half_protocol(real.of(real.half_a), real.of(real.half_b), k)


def generator_scores(
    family: Family,
    G: nn.Module,
    data: TrainData,
    real: RealSets,
    device: torch.device,
    num_samples: int = 1000,
    seed: int = 0,
    batch_size: int = 50,
    k: int = quality.DEFAULT_K,
) -> dict[str, Any]:
    """Every unconditional measure of one generator, in both protocols (see the module docstring)."""
    G = G.to(device).eval()
    fake = generated_features(family.fid_generate_fn(G, data, device), num_samples, batch_size, device, seed)
    train = real.of(real.train_idx)
    n_train, n_b = train.shape[0], len(real.half_b)
    if num_samples < max(n_train, n_b):
        raise ValueError(f"num_samples must be >= {max(n_train, n_b)} (the real sets' sizes), got {num_samples}")
    kid, kid_std = kid_of_features(train, fake, seed=seed)
    fidelity = fidelity_and_variety(fake, train, k)  # precision/recall on n_train generated images
    scores: dict[str, Any] = {
        "vs_train": {
            "fid": frechet_distance(train, fake), "kid": kid, "kid_std": kid_std, "num_fake_kid": int(num_samples),
            "precision": fidelity["precision"], "recall": fidelity["recall"], "k": k,
            "num_real": int(n_train), "num_fake_pr": fidelity["pr_num_fake"], "diversity": fidelity["diversity"],
        },
        "vs_half": half_protocol(real.of(real.half_a), fake[:n_b], k),
    }
    if len(real.heldout_idx) > 0:
        scores["vs_train"].update(quality.memorisation_ratio(fake, train, real.of(real.heldout_idx)))
    within = within_condition_diversity(family, G, data, train, device, seed)
    if within is not None:
        scores["vs_train"]["within_condition_diversity"] = within
    return scores


def within_condition_diversity(
    family: Family, G: nn.Module, data: TrainData, train: torch.Tensor, device: torch.device, seed: int = 0
) -> Optional[float]:
    """Mean over conditions of the diversity ratio of images made for one condition across seeds."""
    fns = family.condition_generate_fns(G, data, device, NUM_CONDITIONS)
    if not fns:
        return None
    extractor = InceptionFeatures(device)
    ratios = []
    base = quality.mean_pairwise_distance(train)
    for i, fn in enumerate(fns):
        with torch.no_grad():
            images = fn(PER_CONDITION, torch.Generator().manual_seed(seed + i))
        ratios.append(quality.mean_pairwise_distance(extractor(images)) / base)
    return float(sum(ratios) / len(ratios))


@torch.no_grad()
def nearest_neighbour_picture(
    family: Family, G: nn.Module, data: TrainData, real: RealSets, device: torch.device, path: Path, n: int = 8, seed: int = 0
) -> Path:
    """Row 1: generated samples; row 2: the training image nearest to each in feature space."""
    from training.pictures import save_grid

    images = family.fid_generate_fn(G.eval(), data, device)(n, torch.Generator().manual_seed(seed)).float().cpu()
    _, index = quality.nearest_neighbours(InceptionFeatures(device)(images), real.of(real.train_idx))
    neighbours = uint8_to_float(data.images[real.train_idx[index]])
    return save_grid(torch.cat([images, neighbours]), n, path)


def faithfulness_scores(
    family: Family, G: nn.Module, data: TrainData, real: RealSets, data_dir: Path, device: torch.device
) -> Optional[dict[str, Any]]:
    """Attribute-probe accuracy of a conditional model's outputs (``None`` without metadata or condition)."""
    context = faithfulness_context(data, real, data_dir)
    if context is None:
        return None
    return family.faithfulness(G, data, context, feature_extractor(device), device)


def faithfulness_context(data: TrainData, real: RealSets, data_dir: Path):
    """The attribute probes (fit on every real photo, person-grouped ceilings) and what else the
    families' faithfulness hooks read; ``None`` when the metadata cannot be matched to the images.
    Public so that benches ask the same probes the evaluation asks."""
    from training import faithfulness

    rows = faithfulness.read_attributes(data_dir, data.num_images)
    if rows is None:
        return None
    return faithfulness.Context(
        probes=faithfulness.fit_probes(real.features, rows, data.groups), rows=rows,
        landmarks=Path(data_dir) / "landmarks", train_features=real.of(real.train_idx),
    )


def feature_extractor(device: torch.device | str = "cpu"):
    """Images ``[N, 3, H, W]`` in [-1, 1] -> Inception features, 50 at a time."""
    extractor = InceptionFeatures(device)

    def extract(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([extractor(chunk) for chunk in images.split(50)])

    return extract


def format_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """Markdown table of the half protocol (reference first)."""
    lines = [
        "| vs half A of the real people | n (real / generated) | precision | recall | KID | diversity |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, s in rows:
        lines.append(
            f"| {name} | {s['num_real']} / {s['num_fake']} | {s['precision']:.3f} | {s['recall']:.3f} | "
            f"{s['kid']:.4f} | {s['diversity']:.3f} |"
        )
    return "\n".join(lines)


def format_vs_train(name: str, s: dict[str, Any]) -> str:
    """Markdown table of the vs-training-people protocol."""
    memo = s.get("memorisation_ratio")
    within = s.get("within_condition_diversity")
    return "\n".join([
        f"| vs training people | KID (n={s['num_fake_kid']} / {s['num_real']}) | precision | recall "
        f"(k={s['k']}, n={s['num_fake_pr']} / {s['num_real']}) | diversity | within-condition diversity | memorisation |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| {name} | {s['kid']:.4f} | {s['precision']:.3f} | {s['recall']:.3f} | {s['diversity']:.3f} | "
        f"{'-' if within is None else f'{within:.3f}'} | {'-' if memo is None else f'{memo:.3f}'} |",
    ])
