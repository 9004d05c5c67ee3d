"""How well could a text model follow unseen wordings, given only its training captions?

    python bench/caption_readout.py                                  # text2face-64.yaml
    python bench/caption_readout.py --config training/configs/text2face-64.yaml \
        --config training/configs/text2face-64-words.yaml

Why: a text GAN meets a prompt only through its sentence embedding, and it learns which directions
of that embedding mean "smiling" or "woman" from its training captions alone. A linear probe fitted
on the embeddings of every training caption (the template and each paraphrase, with the row's
gender and expression as labels) and then asked about prompts the captions never use is what a
model whose response is linear in the embedding could at best get from that vocabulary. It costs
seconds, where training a model to find out costs an hour and a half on this CPU, so it tells
whether a missed expression bar is the vocabulary (the probe misses too) or the model (the probe
reads the prompts and the model does not).

Scored on the evaluation's unseen-wording block (``training.faithfulness.UNSEEN_PROMPTS``) and on
the free prompt files of ``bench/prompts/`` (see ``bench/prompt_wording.py``), as balanced accuracy,
the same score the evaluation and the prompt-wording bench report for generated images.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from bench.prompt_wording import ATTRIBUTES, DEFAULT_PROMPTS, read_prompts  # noqa: E402

DEFAULT_CONFIG = ROOT / "training" / "configs" / "text2face-64.yaml"
DEFAULT_METADATA = ROOT / "data" / "london_faces" / "metadata.csv"


def load_text_config(config: Path, metadata: Path):
    """The config as training reads it, with the metadata's folder as its data."""
    from training.config import load_config

    cfg = load_config(config, ["--data_dir", str(metadata.parent)])
    if not cfg.caption_template:
        raise SystemExit(f"{config}: no caption_template, so there are no training captions to read")
    return cfg


def training_captions(cfg, metadata: Path) -> list[tuple[str, dict[str, str]]]:
    """Every distinct caption the config's template and paraphrases build from the metadata rows,
    with the attributes of its row as the probe reads them (woman / man, neutral / smiling)."""
    from training.captions import build_caption
    from training.faithfulness import ATTRIBUTES as READERS

    with metadata.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    seen: dict[str, dict[str, str]] = {}
    for row in rows:
        wanted = {a: READERS[a](row) for a in ATTRIBUTES}
        if any(v is None for v in wanted.values()):
            continue
        for template in (cfg.caption_template, *cfg.caption_paraphrases):
            seen.setdefault(build_caption(template, row, cfg.caption_words), wanted)
    return list(seen.items())


def readout(captions: list[tuple[str, dict[str, str]]], blocks: dict[str, list[tuple[str, dict[str, str]]]],
            encoder_name: str) -> dict[str, dict[str, float]]:
    """Per block and attribute, the balanced accuracy of a linear probe fitted on the captions' embeddings."""
    from training.faithfulness import balanced_accuracy
    from training.quality import LinearProbe
    from zoo.text import load_sentence_encoder

    encoder = load_sentence_encoder(encoder_name)
    with torch.no_grad():
        train = encoder.encode([c for c, _ in captions]).float()
        tests = {name: encoder.encode([p for p, _ in prompts]).float() for name, prompts in blocks.items()}
    result: dict[str, dict[str, float]] = {name: {} for name in blocks}
    for attribute in ATTRIBUTES:
        classes = sorted({w[attribute] for _, w in captions})
        probe = LinearProbe().fit(train, torch.tensor([classes.index(w[attribute]) for _, w in captions]))
        for name, prompts in blocks.items():
            labels = torch.tensor([classes.index(w[attribute]) for _, w in prompts])
            result[name][attribute] = balanced_accuracy(probe.predict(tests[name]), labels)
    return result


def format_table(results: dict[str, tuple[int, dict[str, dict[str, float]]]]) -> str:
    blocks = list(next(iter(results.values()))[1])
    header = "| config | captions | " + " | ".join(f"{b} {a}" for b in blocks for a in ATTRIBUTES) + " |"
    lines = [header, "|" + "---|" * (2 + len(blocks) * len(ATTRIBUTES))]
    for config, (count, scores) in results.items():
        cells = " | ".join(f"{scores[b][a]:.2f}" for b in blocks for a in ATTRIBUTES)
        lines.append(f"| {config} | {count} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, action="append", help=f"text config(s) (default {DEFAULT_CONFIG.name})")
    parser.add_argument("--prompts", type=Path, action="append", help="tab-separated prompt files (default: bench/prompts/*.tsv)")
    parser.add_argument("--metadata", type=Path, default=DEFAULT_METADATA, help="the metadata.csv the captions are built from")
    args = parser.parse_args(argv)
    from training.faithfulness import UNSEEN_PROMPTS

    blocks = {"evaluation unseen": [(p, {a: w[a] for a in ATTRIBUTES}) for p, w in UNSEEN_PROMPTS]}
    for path in args.prompts or DEFAULT_PROMPTS:
        blocks[path.stem] = read_prompts(path)
    results = {}
    for config in args.config or [DEFAULT_CONFIG]:
        cfg = load_text_config(config, args.metadata)
        captions = training_captions(cfg, args.metadata)
        results[config.name] = (len(captions), readout(captions, blocks, cfg.text_encoder))
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
