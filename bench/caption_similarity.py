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
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--expression", default="neutral")
    parser.add_argument("--gender", default="male")
    parser.add_argument("--age", default="24")
    parser.add_argument("--ethnicity", default="white")
    parser.add_argument("--text_encoder", default=_CONFIG["text_encoder"])
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
