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

from training.data import age_band
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
        labels = torch.tensor([self.classes.index(w) for w in wanted])
        return self.probe.accuracy(features, labels)


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
        correct = 0
        for fold in range(FOLDS):
            test, train = fold_of == fold, fold_of != fold
            if len(torch.unique(labels[train])) < 2 or not test.any():
                continue
            probe = LinearProbe().fit(x[train], labels[train])
            correct += int((probe.predict(x[test]) == labels[test]).sum())
        probes[name] = AttributeProbe(name, classes, LinearProbe().fit(x, labels), correct / len(idx), len(idx))
    return probes


def person_folds(person: list[str], folds: int, seed: int) -> torch.Tensor:
    """Fold number of each row; all photos of one person share a fold (so tests are unseen people)."""
    unique = sorted(set(person))
    order = torch.randperm(len(unique), generator=torch.Generator().manual_seed(seed)).tolist()
    fold_of_person = {unique[j]: rank % folds for rank, j in enumerate(order)}
    return torch.tensor([fold_of_person[p] for p in person])


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


def text_faithfulness(
    generate: Callable[[list[str], int], torch.Tensor],
    extract: Callable[[torch.Tensor], torch.Tensor],
    probes: dict[str, AttributeProbe],
    per_prompt: int = 16,
) -> dict[str, Any]:
    """Attribute accuracy of generated images, per wording block and attribute.

    ``generate(prompts, n)`` returns ``n`` images per prompt in prompt order, sampled as the app
    samples (the pipeline with seeds); ``extract`` maps images to probe features.
    """
    result: dict[str, Any] = {"per_prompt": per_prompt}
    for block, prompts in (("template_wording", TEMPLATE_PROMPTS), ("unseen_wording", UNSEEN_PROMPTS)):
        features = extract(generate([p for p, _ in prompts], per_prompt))
        scores = {}
        for attribute in ("gender", "expression"):
            if attribute not in probes:
                continue
            wanted = [w[attribute] for _, w in prompts for _ in range(per_prompt)]
            scores[attribute] = probes[attribute].accuracy(features, wanted)
        result[block] = {"accuracy": scores, "prompts": [p for p, _ in prompts]}
    return result
