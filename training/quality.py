"""Feature-space quality measures beyond FID/KID: fidelity, coverage, variety, copying, attributes.

All functions take feature matrices ``[N, D]`` (the TF-FID Inception pool features of
:mod:`training.metrics`), so the same code scores a generator, the real-vs-real reference and
synthetic test data. Why each exists:

* FID/KID mix "are the images good" and "is every kind of face there" into one number.
  **Improved precision and recall** (Kynkaanniemi et al., 2019) separate them: precision is the
  share of generated images inside the real data's k-NN manifold, recall the share of real images
  inside the generated one.
* A generator that draws the same face for every seed can still score a fair precision.
  The **diversity ratio** (mean pairwise distance of generated features / that of real features)
  shows it directly: 1.0 is as varied as the real faces, ~0 is collapse.
* With 184 training photos a generator can also just replay them. The **memorisation ratio**
  compares how close generated images are to their nearest training image with how close
  unseen real people are: well below 1 means copying.
* Attribute **linear probes** (logistic regression on features) say whether a text-to-image model
  follows "smiling" or "woman"; their accuracy on held-out real people is the ceiling.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

#: Neighbourhood size for the k-NN manifolds (the paper's default).
DEFAULT_K = 3


def _check(features: torch.Tensor, name: str, min_rows: int = 1) -> torch.Tensor:
    if features.ndim != 2 or features.shape[0] < min_rows:
        raise ValueError(f"{name} must be [N >= {min_rows}, D], got {tuple(features.shape)}")
    if not torch.isfinite(features).all():
        raise ValueError(f"{name} contains NaN/inf")
    return features.double()


def knn_radii(features: torch.Tensor, k: int = DEFAULT_K) -> torch.Tensor:
    """Distance from each row to its k-th nearest *other* row: the radius of its manifold ball."""
    x = _check(features, "features", k + 1)
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # the 1st value is the row itself (distance 0)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = DEFAULT_K) -> dict[str, float]:
    """Improved precision (fakes inside the real manifold) and recall (reals inside the fake one)."""
    real, fake = _check(real, "real", k + 1), _check(fake, "fake", k + 1)
    d = torch.cdist(fake, real)  # [F, R]
    precision = (d <= knn_radii(real, k)[None, :]).any(dim=1).double().mean()
    recall = (d <= knn_radii(fake, k)[:, None]).any(dim=0).double().mean()
    return {"precision": float(precision), "recall": float(recall), "k": k, "num_real": real.shape[0], "num_fake": fake.shape[0]}


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """Mean Euclidean distance over all distinct pairs of rows."""
    x = _check(features, "features", 2)
    n = x.shape[0]
    return float(torch.cdist(x, x).sum() / (n * (n - 1)))


def diversity_ratio(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Variety of the generated set relative to the real set (1.0 = as varied; ~0 = one image)."""
    return mean_pairwise_distance(fake) / mean_pairwise_distance(real)


def nearest_neighbours(query: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of each query row's nearest reference row."""
    d = torch.cdist(_check(query, "query"), _check(reference, "reference"))
    values, index = d.min(dim=1)
    return values, index


def memorisation_ratio(fake: torch.Tensor, train: torch.Tensor, heldout: torch.Tensor) -> dict[str, float]:
    """Median nearest-training distance of generated images / that of held-out real people.

    Unseen people set the scale of "a different face from everyone in the training set"; a
    generator that copies training photos sits far below it.
    """
    fake_nn, _ = nearest_neighbours(fake, train)
    heldout_nn, _ = nearest_neighbours(heldout, train)
    fake_median, heldout_median = float(fake_nn.median()), float(heldout_nn.median())
    return {
        "memorisation_ratio": fake_median / heldout_median,
        "fake_nn_median": fake_median,
        "heldout_nn_median": heldout_median,
    }


class LinearProbe:
    """Multinomial logistic regression on standardised features, fitted with L-BFGS.

    Why not a library classifier: scikit-learn is not a dependency, and a probe is ten lines of
    torch. L2 regularisation keeps it honest with ~200 examples of 2048-d features.
    """

    def __init__(self, l2: float = 1.0, max_iter: int = 200) -> None:
        self.l2, self.max_iter = l2, max_iter
        self.mean: Optional[torch.Tensor] = None
        self.std: Optional[torch.Tensor] = None
        self.weight: Optional[torch.Tensor] = None
        self.bias: Optional[torch.Tensor] = None
        self.num_classes = 0

    def fit(self, features: torch.Tensor, labels: torch.Tensor) -> "LinearProbe":
        x = _check(features, "features", 2)
        y = torch.as_tensor(labels, dtype=torch.long)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"{x.shape[0]} feature rows but {y.shape[0]} labels")
        self.num_classes = int(y.max()) + 1
        if len(torch.unique(y)) < 2:
            raise ValueError("a probe needs at least two classes in its training labels")
        self.mean, self.std = x.mean(0), x.std(0).clamp(min=1e-6)
        z = (x - self.mean) / self.std
        w = torch.zeros(z.shape[1], self.num_classes, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(self.num_classes, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=self.max_iter, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(z @ w + b, y) + self.l2 * w.pow(2).sum() / z.shape[0]
            loss.backward()
            return loss

        opt.step(closure)
        self.weight, self.bias = w.detach(), b.detach()
        return self

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        if self.weight is None:
            raise RuntimeError("fit the probe first")
        z = (_check(features, "features") - self.mean) / self.std
        return (z @ self.weight + self.bias).argmax(dim=1)

    def accuracy(self, features: torch.Tensor, labels: Sequence[int]) -> float:
        return float((self.predict(features) == torch.as_tensor(labels, dtype=torch.long)).double().mean())
