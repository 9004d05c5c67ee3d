"""training/quality.py on synthetic features where the right answer is known."""

from __future__ import annotations

import pytest
import torch

from training import quality


def cluster(n: int, centre: float, seed: int, dim: int = 16, spread: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return centre + spread * torch.randn(n, dim, generator=g, dtype=torch.float64)


def test_identical_sets_have_full_precision_and_recall():
    x = cluster(60, 0.0, 0)
    pr = quality.precision_recall(x, x.clone(), k=3)
    assert pr["precision"] == 1.0 and pr["recall"] == 1.0


def test_disjoint_clusters_have_zero_precision_and_recall():
    pr = quality.precision_recall(cluster(60, 0.0, 0), cluster(60, 100.0, 1), k=3)
    assert pr["precision"] == 0.0 and pr["recall"] == 0.0


def test_a_collapsed_generator_has_precision_but_no_recall_and_no_variety():
    real = cluster(80, 0.0, 0)
    collapsed = real[:1].repeat(80, 1) + 1e-3 * cluster(80, 0.0, 1)  # one real face, tiny jitter
    pr = quality.precision_recall(real, collapsed, k=3)
    assert pr["precision"] == 1.0
    assert pr["recall"] < 0.05
    assert quality.diversity_ratio(collapsed, real) < 0.01


def test_same_distribution_scores_close_to_one_on_every_measure():
    real, fake = cluster(200, 0.0, 0), cluster(200, 0.0, 1)
    pr = quality.precision_recall(real, fake, k=3)
    assert pr["precision"] > 0.7 and pr["recall"] > 0.7  # k-NN balls in 16-d miss some points
    assert quality.diversity_ratio(fake, real) == pytest.approx(1.0, abs=0.05)


def test_copies_of_training_images_are_flagged_as_memorised():
    train, heldout = cluster(100, 0.0, 0), cluster(30, 0.0, 1)
    copies = train[torch.arange(50) % 100] + 1e-4 * cluster(50, 0.0, 2)
    copied = quality.memorisation_ratio(copies, train, heldout)
    assert copied["memorisation_ratio"] < 0.01
    novel = quality.memorisation_ratio(cluster(50, 0.0, 3), train, heldout)
    assert novel["memorisation_ratio"] == pytest.approx(1.0, abs=0.15)


def test_knn_radius_excludes_the_point_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [6.0]], dtype=torch.float64)
    assert quality.knn_radii(x, k=1).tolist() == [1.0, 1.0, 2.0, 3.0]


def test_linear_probe_separates_separable_features_and_is_at_chance_on_noise():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(200) % 2
    features = torch.randn(200, 64, generator=g, dtype=torch.float64)
    features[:, 5] += 4.0 * labels  # one informative direction
    probe = quality.LinearProbe().fit(features[:150], labels[:150])
    assert probe.accuracy(features[150:], labels[150:]) > 0.9  # Bayes rate 0.98
    noise = torch.randn(200, 64, generator=g, dtype=torch.float64)
    chance = quality.LinearProbe().fit(noise[:150], labels[:150]).accuracy(noise[150:], labels[150:])
    assert chance < 0.75


@pytest.mark.parametrize("bad", [torch.zeros(3), torch.full((5, 2), float("nan"))])
def test_bad_features_are_refused(bad):
    with pytest.raises(ValueError):
        quality.mean_pairwise_distance(bad)
