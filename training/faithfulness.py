"""Does a conditional model do what it is asked? Attribute probes for text prompts and classes.

A linear probe per face attribute is fitted on the Inception features of the *real* photos and
its accuracy on people it never saw (grouped cross-validation by person) is the ceiling: no
generator can be judged more accurately than the probe reads real faces. The probe, refitted on
all real photos, then reads the generated images: "a smiling woman" should come out smiling and
female as often as the probe can tell.

Attributes come from the dataset's ``metadata.csv`` (London faces: gender, expression, age,
ethnicity). Age and ethnicity are binarised where the data has too few people per finer class.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from training.captions import age_band
from training.quality import LinearProbe

#: attribute -> (metadata value -> class name); values not listed are left out of that probe.
ATTRIBUTES: dict[str, Callable[[dict[str, str]], Optional[str]]] = {
    "gender": lambda row: {"female": "woman", "male": "man"}.get(row.get("gender", "")),
    "expression": lambda row: row.get("expression") if row.get("expression") in ("neutral", "smiling") else None,
    "age": lambda row: None if age_band(row.get("age")) is None
    else ("under 30" if age_band(row.get("age")) in ("teens", "twenties") else "30 or older"),
    "ethnicity": lambda row: None if not row.get("ethnicity") else ("white" if row["ethnicity"] == "white" else "not white"),
}
FOLDS = 5


@dataclass
class AttributeProbe:
    name: str
    classes: list[str]
    probe: LinearProbe
    ceiling: float  # accuracy on held-out people (grouped cross-validation)
    num_examples: int

    def accuracy(self, features: torch.Tensor, wanted: list[str]) -> float:
        """Balanced accuracy (see :func:`balanced_accuracy`) of the probe's reading of ``features``."""
        labels = torch.tensor([self.classes.index(w) for w in wanted])
        return balanced_accuracy(self.probe.predict(features), labels)


def read_attributes(data_dir: Path, num_images: int) -> Optional[list[dict[str, str]]]:
    """Metadata rows in data order, or ``None`` when they cannot be matched to the images."""
    path = Path(data_dir) / "metadata.csv"
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows if len(rows) == num_images else None


def fit_probes(features: torch.Tensor, rows: list[dict[str, str]], groups: list[str], seed: int = 0) -> dict[str, AttributeProbe]:
    """One probe per attribute with at least two classes; ceilings by person-grouped k-fold."""
    probes = {}
    for name, read in ATTRIBUTES.items():
        values = [read(row) for row in rows]
        keep = torch.tensor([v is not None for v in values])
        classes = sorted({v for v in values if v is not None})
        if len(classes) < 2:
            continue
        idx = torch.nonzero(keep).flatten()
        labels = torch.tensor([classes.index(values[i]) for i in idx.tolist()])
        x = features[idx]
        person = [groups[i] for i in idx.tolist()] if groups else [str(i) for i in idx.tolist()]
        fold_of = person_folds(person, FOLDS, seed)
        predicted = torch.full_like(labels, -1)  # -1: its fold could not be tested (one class left)
        for fold in range(FOLDS):
            test, train = fold_of == fold, fold_of != fold
            if len(torch.unique(labels[train])) < 2 or not test.any():
                continue
            predicted[test] = LinearProbe().fit(x[train], labels[train]).predict(x[test])
        ceiling = balanced_accuracy(predicted, labels)
        probes[name] = AttributeProbe(name, classes, LinearProbe().fit(x, labels), ceiling, len(idx))
    return probes


def balanced_accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean over the classes present of the share of that class read correctly.

    Why balanced: ethnicity is 2:1 white in London faces, so a probe or generator that always says
    "white" would score 0.68 on plain accuracy; balanced it scores 0.5, chance, as it should. For
    the balanced gender and expression sets it is plain accuracy.
    """
    shares = [float((predicted[labels == c] == c).double().mean()) for c in torch.unique(labels).tolist()]
    return sum(shares) / len(shares)


def person_folds(person: list[str], folds: int, seed: int) -> torch.Tensor:
    """Fold number of each row; all photos of one person share a fold (so tests are unseen people)."""
    unique = sorted(set(person))
    order = torch.randperm(len(unique), generator=torch.Generator().manual_seed(seed)).tolist()
    fold_of_person = {unique[j]: rank % folds for rank, j in enumerate(order)}
    return torch.tensor([fold_of_person[p] for p in person])


@dataclass
class Context:
    """What the families' faithfulness hooks may use."""

    probes: dict[str, AttributeProbe]
    rows: list[dict[str, str]]
    landmarks: Path
    train_features: torch.Tensor


#: Prompts for text-to-image faithfulness: (prompt, wanted attributes). The first block follows the
#: training captions' wording; the second uses wordings that never occur in them.
TEMPLATE_PROMPTS: list[tuple[str, dict[str, str]]] = [
    (f"a {e} {g}[ in {p} {a}], white".replace("[", "").replace("]", ""), {"gender": g, "expression": e})
    for g, p in (("woman", "her"), ("man", "his"))
    for e in ("neutral", "smiling")
    for a in ("twenties", "thirties")
]
UNSEEN_PROMPTS: list[tuple[str, dict[str, str]]] = [
    ("portrait photo of a woman who is smiling", {"gender": "woman", "expression": "smiling"}),
    ("a happy grinning lady", {"gender": "woman", "expression": "smiling"}),
    ("a woman with a serious, straight face", {"gender": "woman", "expression": "neutral"}),
    ("passport photo of a calm woman", {"gender": "woman", "expression": "neutral"}),
    ("portrait photo of a man who is smiling", {"gender": "man", "expression": "smiling"}),
    ("a happy grinning guy", {"gender": "man", "expression": "smiling"}),
    ("a man with a serious, straight face", {"gender": "man", "expression": "neutral"}),
    ("passport photo of a calm man", {"gender": "man", "expression": "neutral"}),
]
#: Skin tone and origin in the template's wording: every ethnicity of the London faces, read by the
#: probe as white / not white (the finer classes have 9-13 people each, too few for a probe).
ETHNICITY_PROMPTS: list[tuple[str, dict[str, str]]] = [
    (f"a {e} {g} in {p} twenties, {ethnicity}", {"ethnicity": "white" if ethnicity == "white" else "not white"})
    for g, p in (("woman", "her"), ("man", "his"))
    for e in ("neutral", "smiling")
    for ethnicity in ("white", "black", "east asian", "west asian")
]
BLOCKS = {"template_wording": TEMPLATE_PROMPTS, "unseen_wording": UNSEEN_PROMPTS, "ethnicity": ETHNICITY_PROMPTS}


def text_faithfulness(
    generate: Callable[[list[str], int], torch.Tensor],
    extract: Callable[[torch.Tensor], torch.Tensor],
    probes: dict[str, AttributeProbe],
    per_prompt: int = 16,
) -> dict[str, Any]:
    """Attribute accuracy (balanced) of generated images, per prompt block and attribute.

    ``generate(prompts, n)`` returns ``n`` images per prompt in prompt order, sampled as the app
    samples (the pipeline with seeds); ``extract`` maps images to probe features. A block is left
    out when the data has no probe for any of its attributes (e.g. one ethnicity only).
    """
    result: dict[str, Any] = {"per_prompt": per_prompt}
    for block, prompts in BLOCKS.items():
        attributes = [a for a in prompts[0][1] if a in probes]
        if not attributes:
            continue
        features = extract(generate([p for p, _ in prompts], per_prompt))
        scores = {}
        for attribute in attributes:
            wanted = [w[attribute] for _, w in prompts for _ in range(per_prompt)]
            scores[attribute] = probes[attribute].accuracy(features, wanted)
        result[block] = {"accuracy": scores, "prompts": [p for p, _ in prompts]}
    return result


#: Doodle variants drawn per held-out face (doodles are random; several give a steadier number).
DOODLES_PER_FACE = 4


def sketch_inputs(data, rows: list[dict[str, str]], landmarks: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Held-out people's inputs per sketch style: ``style -> (sketches [M, 3, R, R] in [-1, 1], row of each)``.

    ``edges`` are the XDoG sketches the app makes from uploaded photos; ``landmarks`` are clean line
    drawings from the face templates (only photos with a template: London's neutral ones);
    ``doodle`` are hasty versions of those (thicker, dropped and jittered strokes).
    """
    from training.data import uint8_to_float
    from zoo import line_drawings

    held = data.heldout_idx.tolist()
    resolution = data.images.shape[-1]
    out = {"edges": (uint8_to_float(data.sketches[held]), torch.tensor(held))}
    templates = [(i, line_drawings.template_path(landmarks, rows[i]["file_name"])) for i in held]
    templates = [(i, line_drawings.read_template(p)) for i, p in templates if p is not None]
    if templates:
        def as_tensor(images) -> torch.Tensor:
            import numpy as np

            return torch.stack([torch.from_numpy(np.array(im)).permute(2, 0, 1) for im in images]).float() / 127.5 - 1

        clean = as_tensor(line_drawings.render(t, resolution) for _, t in templates)
        doodles = as_tensor(
            line_drawings.render(t, resolution, line_drawings.doodle(1000 * i + k, resolution))
            for i, t in templates for k in range(DOODLES_PER_FACE)
        )
        rows_clean = torch.tensor([i for i, _ in templates])
        out["landmarks"] = (clean, rows_clean)
        out["doodle"] = (doodles, rows_clean.repeat_interleave(DOODLES_PER_FACE))
    return out


def sketch_faithfulness(G, data, rows: list[dict[str, str]], landmarks: Path, train_features: torch.Tensor,
                        extract: Callable[[torch.Tensor], torch.Tensor], device: torch.device) -> dict[str, Any]:
    """Per sketch style on held-out people: L1/SSIM to the real photo, edge consistency (L1 between
    the output's own XDoG sketch and the input), and KID/precision of the outputs against the
    training photos (k=3). ``n`` is the number of inputs of that style."""
    from training.data import uint8_to_float
    from training.metrics import paired_metrics
    from training.quality import DEFAULT_K, precision_recall
    from training.metrics import kid_of_features
    from zoo.sketch import extract_sketch

    result = {}
    for style, (sketches, row) in sketch_inputs(data, rows, landmarks).items():
        with torch.no_grad():
            photos = torch.cat([G(chunk.to(device)).float().clamp(-1, 1).cpu() for chunk in sketches.split(64)])
        targets = uint8_to_float(data.images[row])
        paired = paired_metrics(photos, targets)
        consistency = float(((extract_sketch(photos) - sketches).abs() / 2).mean())
        features = extract(photos)
        kid, _ = kid_of_features(train_features, features) if len(photos) >= 2 else (None, None)
        precision = precision_recall(train_features, features, DEFAULT_K)["precision"] if len(photos) > DEFAULT_K else None
        result[style] = {"n": int(len(photos)), "l1": paired["l1"], "ssim": paired["ssim"],
                         "edge_consistency_l1": consistency, "kid": kid, "precision": precision}
    return result
