"""Attribute probes and text/class faithfulness on synthetic features with a known answer."""

from __future__ import annotations

import torch

from training import faithfulness

GENDERS = ("female", "male")
EXPRESSIONS = ("neutral", "smiling")


def synthetic_people(n_people: int = 60, dim: int = 32, seed: int = 0, ethnicities: tuple[str, ...] = ("white",)):
    """Two photos per person (neutral, smiling); gender lives in feature 0, expression in feature 1,
    white / not white in feature 2 (people cycle through ``ethnicities``)."""
    g = torch.Generator().manual_seed(seed)
    rows, groups, feats = [], [], []
    for person in range(n_people):
        gender = GENDERS[person % 2]
        ethnicity = ethnicities[(person // 2) % len(ethnicities)]
        identity = torch.randn(dim, generator=g, dtype=torch.float64)
        for expression in EXPRESSIONS:
            f = identity.clone()
            f[0] = 3.0 if gender == "male" else -3.0
            f[1] = 3.0 if expression == "smiling" else -3.0
            f[2] = 3.0 if ethnicity == "white" else -3.0
            feats.append(f + 0.3 * torch.randn(dim, generator=g, dtype=torch.float64))
            rows.append({"gender": gender, "expression": expression, "age": "25", "ethnicity": ethnicity})
            groups.append(f"{person:03d}")
    return torch.stack(feats), rows, groups


def encode(wanted: dict[str, str], n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(n, 32, generator=g, dtype=torch.float64)
    f[:, 0] = 3.0 if wanted.get("gender") == "man" else -3.0
    f[:, 1] = 3.0 if wanted.get("expression") == "smiling" else -3.0
    f[:, 2] = -3.0 if wanted.get("ethnicity") == "not white" else 3.0
    return f


def test_probes_have_ceilings_from_unseen_people_and_skip_single_class_attributes():
    feats, rows, groups = synthetic_people()
    probes = faithfulness.fit_probes(feats, rows, groups)
    assert set(probes) == {"gender", "expression"}  # age and ethnicity have one class here
    assert probes["gender"].ceiling > 0.95 and probes["expression"].ceiling > 0.95
    folds = faithfulness.person_folds(groups, 5, 0)
    for person in set(groups):  # both photos of a person are always in the same fold
        assert len({int(folds[i]) for i, p in enumerate(groups) if p == person}) == 1


def test_text_faithfulness_tells_a_prompt_following_model_from_one_that_ignores_prompts():
    feats, rows, groups = synthetic_people()
    probes = faithfulness.fit_probes(feats, rows, groups)
    table = dict(faithfulness.TEMPLATE_PROMPTS + faithfulness.UNSEEN_PROMPTS)

    def follows(prompts, n):
        return torch.cat([encode(table[p], n, i) for i, p in enumerate(prompts)])

    def ignores(prompts, n):
        return torch.cat([encode({"gender": "woman", "expression": "neutral"}, n, i) for i, _ in enumerate(prompts)])

    good = faithfulness.text_faithfulness(follows, lambda x: x, probes, per_prompt=4)
    bad = faithfulness.text_faithfulness(ignores, lambda x: x, probes, per_prompt=4)
    for block in ("template_wording", "unseen_wording"):
        assert good[block]["accuracy"]["gender"] == 1.0 and good[block]["accuracy"]["expression"] == 1.0
        assert bad[block]["accuracy"]["gender"] == 0.5 and bad[block]["accuracy"]["expression"] == 0.5
    seen = {p for p, _ in faithfulness.TEMPLATE_PROMPTS}
    assert not seen & {p for p, _ in faithfulness.UNSEEN_PROMPTS}
    assert "ethnicity" not in good  # one ethnicity in the data: no probe, no block


def test_ethnicity_is_scored_balanced_so_always_drawing_the_majority_is_chance():
    """London faces are 2:1 white; the ethnicity prompts ask for "not white" three times in four. A
    model that draws every face white must score 0.5 (chance), not the 0.25 or 0.68 of plain accuracy."""
    feats, rows, groups = synthetic_people(ethnicities=("white", "white", "black"))
    probes = faithfulness.fit_probes(feats, rows, groups)
    assert set(probes) == {"gender", "expression", "ethnicity"} and probes["ethnicity"].ceiling > 0.95
    table = dict(faithfulness.ETHNICITY_PROMPTS)
    assert sorted(set(w["ethnicity"] for w in table.values())) == ["not white", "white"]

    def follows(prompts, n):
        return torch.cat([encode(table.get(p, {}), n, i) for i, p in enumerate(prompts)])

    def always_white(prompts, n):
        return torch.cat([encode({}, n, i) for i, _ in enumerate(prompts)])

    good = faithfulness.text_faithfulness(follows, lambda x: x, probes, per_prompt=4)
    bad = faithfulness.text_faithfulness(always_white, lambda x: x, probes, per_prompt=4)
    assert good["ethnicity"]["accuracy"] == {"ethnicity": 1.0}
    assert bad["ethnicity"]["accuracy"] == {"ethnicity": 0.5}
    assert faithfulness.balanced_accuracy(torch.tensor([0, 0, 0, 0]), torch.tensor([0, 0, 0, 1])) == 0.5


def test_unseen_wordings_share_no_distinctive_word_with_any_training_caption():
    """The "unseen wording" block measures prompts the model never trained on. Every textgan config's
    captions (template and paraphrases, over every London-faces row) must avoid the words that only
    the unseen prompts use, or that block would silently become a training-wording score."""
    import csv
    import re
    from pathlib import Path

    import yaml

    from training.captions import build_caption

    root = Path(__file__).resolve().parents[1]

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z]+", text.lower()))

    unseen = set().union(*(words(p) for p, _ in faithfulness.UNSEEN_PROMPTS))
    template = set().union(*(words(p) for p, _ in faithfulness.TEMPLATE_PROMPTS))
    distinctive = unseen - template - {"of", "with", "is", "who"}
    assert {"lady", "guy", "grinning", "calm", "passport"} <= distinctive
    rows = list(csv.DictReader((root / "data/london_faces/metadata.csv").open()))
    checked = 0
    for path in sorted((root / "training/configs").glob("*.yaml")):
        cfg = yaml.safe_load(path.read_text())
        if cfg.get("family") != "textgan" or not cfg.get("caption_template"):
            continue
        for template_text in [cfg["caption_template"], *cfg.get("caption_paraphrases", [])]:
            for row in rows:
                caption = build_caption(template_text, row, cfg.get("caption_words"))
                assert not words(caption) & distinctive, (path.name, caption)
                checked += 1
    assert checked >= len(rows)  # at least text2face-64.yaml was read
