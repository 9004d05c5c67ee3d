"""How well could a text model follow unseen wordings, given only its training captions?

    python bench/caption_readout.py                                  # text2face-64.yaml
    python bench/caption_readout.py --config training/configs/text2face-64.yaml \
        --config training/configs/text2face-64-words.yaml
    python bench/caption_readout.py --wording_noise 0 1 2 3      # the probe fitted with wording offsets

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

``--wording_noise`` fits the probe, as ``wording_noise`` trains a text model, on the training
captions plus copies moved by random wording offsets (``training.batches.sample_wording_offsets``:
one metadata row's caption in one wording minus the mean of that row's wordings), prints a row per
value, and below the table how long an offset is next to how far apart two rows' captions lie.
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


def training_captions(cfg, metadata: Path) -> list[tuple[list[str], dict[str, str]]]:
    """Each metadata row's caption in the config's template and every paraphrase, with the attributes
    of its row as the probe reads them (woman / man, neutral / smiling)."""
    from training.captions import build_caption
    from training.faithfulness import ATTRIBUTES as READERS

    with metadata.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for row in rows:
        wanted = {a: READERS[a](row) for a in ATTRIBUTES}
        if any(v is None for v in wanted.values()):
            continue
        out.append(([build_caption(t, row, cfg.caption_words) for t in (cfg.caption_template, *cfg.caption_paraphrases)], wanted))
    return out


#: Copies of the training captions moved by wording offsets when the probe is fitted with wording noise.
NOISY_COPIES = 4


def row_embeddings(rows: list[tuple[list[str], dict[str, str]]], encoder) -> torch.Tensor:
    """``[rows, wordings, D]``: each row's caption in every wording, embedded (what wording offsets are drawn from)."""
    with torch.no_grad():
        return torch.stack([encoder.encode(wordings).float() for wordings, _ in rows])


def readout(rows: list[tuple[list[str], dict[str, str]]], blocks: dict[str, list[tuple[str, dict[str, str]]]],
            encoder_name: str, wording_noise: float = 0.0, seed: int = 0) -> dict[str, dict[str, float]]:
    """Per block and attribute, the balanced accuracy of a linear probe fitted on the captions'
    embeddings (each distinct caption once), plus ``NOISY_COPIES`` copies moved by ``wording_noise``
    times a random wording offset."""
    from training.batches import sample_wording_offsets
    from training.faithfulness import balanced_accuracy
    from training.quality import LinearProbe
    from zoo.text import load_sentence_encoder

    distinct: dict[str, dict[str, str]] = {}
    for wordings, wanted in rows:
        for caption in wordings:
            distinct.setdefault(caption, wanted)
    encoder = load_sentence_encoder(encoder_name)
    with torch.no_grad():
        train = encoder.encode(list(distinct)).float()
        tests = {name: encoder.encode([p for p, _ in prompts]).float() for name, prompts in blocks.items()}
    labels = list(distinct.values())
    if wording_noise:
        rng = torch.Generator().manual_seed(seed)
        per_row = row_embeddings(rows, encoder)
        train = torch.cat([train] + [train + wording_noise * sample_wording_offsets(per_row, len(train), rng)
                                     for _ in range(NOISY_COPIES)])
        labels = labels * (1 + NOISY_COPIES)
    result: dict[str, dict[str, float]] = {name: {} for name in blocks}
    for attribute in ATTRIBUTES:
        classes = sorted({w[attribute] for w in labels})
        probe = LinearProbe().fit(train, torch.tensor([classes.index(w[attribute]) for w in labels]))
        for name, prompts in blocks.items():
            truth = torch.tensor([classes.index(w[attribute]) for _, w in prompts])
            result[name][attribute] = balanced_accuracy(probe.predict(tests[name]), truth)
    return result


def wording_spread(rows: list[tuple[list[str], dict[str, str]]], encoder_name: str) -> tuple[float, float]:
    """(mean length of a wording offset, mean distance between two rows' mean captions): how much
    one unit of ``wording_noise`` moves a caption, next to how far apart different captions lie."""
    from zoo.text import load_sentence_encoder

    per_row = row_embeddings(rows, load_sentence_encoder(encoder_name))
    means = per_row.mean(dim=1)
    offsets = (per_row - means[:, None]).norm(dim=-1).mean()
    apart = torch.cdist(means, means).sum() / (len(means) * (len(means) - 1))
    return float(offsets), float(apart)


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
    parser.add_argument("--wording_noise", type=float, nargs="+", default=[0.0],
                        help="fit the probe with these multiples of random wording offsets added (one row each)")
    args = parser.parse_args(argv)
    from training.faithfulness import UNSEEN_PROMPTS

    blocks = {"evaluation unseen": [(p, {a: w[a] for a in ATTRIBUTES}) for p, w in UNSEEN_PROMPTS]}
    for path in args.prompts or DEFAULT_PROMPTS:
        blocks[path.stem] = read_prompts(path)
    results, spreads = {}, []
    for config in args.config or [DEFAULT_CONFIG]:
        cfg = load_text_config(config, args.metadata)
        rows = training_captions(cfg, args.metadata)
        count = len({c for wordings, _ in rows for c in wordings})
        for noise in args.wording_noise:
            if noise < 0:
                raise SystemExit(f"--wording_noise must be >= 0, got {noise}")
            name = config.name if args.wording_noise == [0.0] else f"{config.name}, wording noise {noise:g}"
            results[name] = (count, readout(rows, blocks, cfg.text_encoder, noise))
        if any(args.wording_noise):
            length, apart = wording_spread(rows, cfg.text_encoder)
            spreads.append(f"{config.name}: a wording offset is {length:.2f} long on average (wording noise 1); "
                           f"two rows' mean captions lie {apart:.2f} apart on average")
    print(format_table(results))
    for line in spreads:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
