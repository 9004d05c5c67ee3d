"""How far the text encoder moves a caption when one attribute word changes.

    python bench/caption_similarity.py
    python bench/caption_similarity.py --gender female --expression smiling --ethnicity black

Why: the text GAN sees a prompt only through its sentence embedding. If changing "white" to
"black" barely moves the embedding, the generator gets almost the same input for both and the
ethnicity word is easy to ignore, whatever the discriminator is taught. The table gives the cosine
similarity between the caption and the same caption with one attribute changed (the template's
wording, ``training/configs/text2face-64.yaml``): the lower it is, the louder the attribute. A
second table embeds the attribute words alone, to show how much of the difference the rest of the
sentence drowns.

A cosine says nothing about how far apart *other* captions lie, and a linear layer (the generator's
conditioning augmentation) only needs an attribute's shift to be large next to the spread of all
captions. ``--pooling`` therefore adds, over the rows of the London faces metadata, each attribute's
mean embedding shift divided by the mean distance between any two captions, for the sentence
embedding the model uses and for two ways of embedding the content words one by one and pooling them
(mean, max): would a per-word prompt encoding make the ethnicity word louder?
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from training.captions import build_caption, caption_fields  # noqa: E402

#: The bundled text model's caption template and prompt encoder, read from its config so they cannot drift apart.
_CONFIG = yaml.safe_load((ROOT / "training" / "configs" / "text2face-64.yaml").read_text())
TEMPLATE = _CONFIG["caption_template"]
#: Each attribute's values in the London faces metadata.
VALUES = {
    "gender": ["female", "male"],
    "expression": ["neutral", "smiling"],
    "ethnicity": ["white", "black", "east_asian", "west_asian"],
    "age": ["24", "35", "47"],
}


def _cosines(encoder, original: str, others: list[str]) -> list[float]:
    """Cosine similarity of each of ``others`` to ``original`` in the encoder's embedding."""
    embeds = encoder.encode([original, *others]).float()
    embeds = embeds / embeds.norm(dim=1, keepdim=True)
    return (embeds[1:] @ embeds[0]).tolist()


def similarity_rows(row: dict[str, str], encoder) -> list[tuple[str, str, float]]:
    """``(attribute, changed caption, cosine to the original)`` for every other value of every attribute."""
    changed = [(field, build_caption(TEMPLATE, {**row, field: value}))
               for field, values in VALUES.items() for value in values if value != row[field]]
    cosines = _cosines(encoder, build_caption(TEMPLATE, row), [c for _, c in changed])
    return [(field, caption, cos) for (field, caption), cos in zip(changed, cosines)]


#: The words of each attribute as the template writes them (``gender`` -> ``gender_noun``, ``age`` -> ``age_band``).
WORD_FIELD = {"gender": "gender_noun", "expression": "expression", "ethnicity": "ethnicity", "age": "age_band"}


def word_rows(row: dict[str, str], encoder) -> list[tuple[str, str, str, float]]:
    """``(attribute, own word, other word, cosine)`` with each attribute's words embedded alone: how far
    apart the encoder holds them when the rest of the sentence does not dilute the difference."""
    out = []
    for field, values in VALUES.items():
        key = WORD_FIELD[field]
        own = caption_fields(row)[key]
        others = [caption_fields({**row, field: v})[key] for v in values if v != row[field]]
        out += [(field, own, word, cos) for word, cos in zip(others, _cosines(encoder, own, others))]
    return out


#: Words that carry no attribute; the rest of a caption is embedded word by word for the pooled encodings.
STOP_WORDS = frozenset({"a", "an", "the", "in", "of", "with", "his", "her", "their", "and"})
#: The attribute pairs of the pooling table (first value vs the other, as the metadata writes them).
POOLING_PAIRS = [("gender", "female", "male"), ("expression", "neutral", "smiling"), ("ethnicity", "white", "black"),
                 ("ethnicity", "white", "east_asian"), ("age", "24", "47")]


def word_pooled(encoder, captions: list[str], how: str):
    """Each caption's content words embedded alone, then pooled (``mean`` or ``max``) and L2-normalised."""
    import torch

    words = [[w for w in re.findall(r"[a-z']+", c.lower()) if w not in STOP_WORDS] for c in captions]
    vocabulary = sorted({w for ws in words for w in ws})
    table = dict(zip(vocabulary, encoder.encode(vocabulary).float()))
    stacks = [torch.stack([table[w] for w in ws]) for ws in words]
    pooled = torch.stack([s.mean(0) if how == "mean" else s.max(0).values for s in stacks])
    return pooled / pooled.norm(dim=1, keepdim=True)


def pooling_rows(rows: list[dict[str, str]], encoder) -> list[tuple[str, str, dict[str, float]]]:
    """``(attribute, values, {pooling: mean shift / mean pairwise distance})`` over ``rows``."""
    import torch

    poolings = {"sentence (the model's)": lambda c: encoder.encode(c).float(),
                "words, mean": lambda c: word_pooled(encoder, c, "mean"),
                "words, max": lambda c: word_pooled(encoder, c, "max")}
    spreads = {}
    for name, embed in poolings.items():
        e = embed([build_caption(TEMPLATE, r) for r in rows])
        spreads[name] = torch.cdist(e, e).sum().item() / (len(rows) * (len(rows) - 1))
    out = []
    for field, a, b in POOLING_PAIRS:
        ratios = {}
        for name, embed in poolings.items():
            ea = embed([build_caption(TEMPLATE, {**r, field: a}) for r in rows])
            eb = embed([build_caption(TEMPLATE, {**r, field: b}) for r in rows])
            ratios[name] = (ea - eb).norm(dim=1).mean().item() / spreads[name]
        out.append((field, f"{a} / {b}", ratios))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--expression", default="neutral")
    parser.add_argument("--gender", default="male")
    parser.add_argument("--age", default="24")
    parser.add_argument("--ethnicity", default="white")
    parser.add_argument("--text_encoder", default=_CONFIG["text_encoder"])
    parser.add_argument("--pooling", metavar="DATA_DIR", nargs="?", const=str(ROOT / "data" / "london_faces"),
                        help="also the shift-to-spread table of sentence vs per-word encodings over DATA_DIR's metadata")
    args = parser.parse_args(argv)
    from zoo.text import load_sentence_encoder

    encoder = load_sentence_encoder(args.text_encoder)
    row = {"expression": args.expression, "gender": args.gender, "age": args.age, "ethnicity": args.ethnicity}
    print(f"original: {build_caption(TEMPLATE, row)!r}\n")
    print("| attribute changed | caption | cosine to the original |\n|---|---|---:|")
    rows = similarity_rows(row, encoder)
    for field, caption, cos in rows:
        print(f"| {field} | {caption} | {cos:.3f} |")
    print("\n| attribute | mean cosine |\n|---|---:|")
    for field in VALUES:
        values = [cos for f, _, cos in rows if f == field]
        print(f"| {field} | {sum(values) / len(values):.3f} |")
    print("\nThe attribute words alone:\n\n| attribute | word | other word | cosine |\n|---|---|---|---:|")
    for field, own, word, cos in word_rows(row, encoder):
        print(f"| {field} | {own} | {word} | {cos:.3f} |")
    if args.pooling:
        with (Path(args.pooling) / "metadata.csv").open(newline="", encoding="utf-8") as handle:
            meta = [r for r in csv.DictReader(handle) if all(r.get(f) for f in VALUES)]
        if len(meta) < 2:
            raise SystemExit(f"error: {args.pooling}/metadata.csv needs two rows with {', '.join(VALUES)}")
        table = pooling_rows(meta, encoder)
        names = list(table[0][2])
        print(f"\nMean embedding shift / mean distance between two captions ({len(meta)} rows):\n")
        print("| attribute | values | " + " | ".join(names) + " |\n|---|---|" + "---:|" * len(names))
        for field, values, ratios in table:
            print(f"| {field} | {values} | " + " | ".join(f"{ratios[n]:.2f}" for n in names) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
