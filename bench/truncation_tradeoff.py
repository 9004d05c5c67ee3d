"""What the truncation slider buys and costs: precision, recall, KID and diversity against psi.

    python bench/truncation_tradeoff.py                                  # faces-style-64, psi 1.0 .. 0.5
    python bench/truncation_tradeoff.py --model faces-projected-64 --model faces-style-64 \
        --psi 1.0 --psi 0.7 --out runs/truncation

Why: the app's truncation sliders start below 1 for some models (``suggested_psi`` in
``zoo/families.py``, set from this bench), while every card scores its model at psi 1 (the
standard protocol, and the one the bars use). Truncation pulls each latent towards the average
face: fidelity (precision) should rise and variety (recall, diversity) fall, as in the StyleGAN
papers' precision/recall curves. How much, for these models and this small real set, is a
measurement, not a guess; this bench makes it, so the slider's default and the README's advice
rest on numbers.

Each psi is scored exactly as ``python -m training.evaluate`` scores a model (the
``training.scorecard`` protocol "vs training people": KID with ``--num_samples`` generated images,
precision/recall with k=3 on as many generated images as training images, diversity ratio,
memorisation ratio against held-out people), with the same latent draws at every psi, so the only
thing that changes between rows is the truncation. Writes a markdown table (stdout and
``table.md``), ``truncation.json``, a plot (``tradeoff.png``) and the same seeds at each psi
(``samples.png``) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

DEFAULT_MODELS = ["faces-style-64"]
DEFAULT_PSI = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
DEFAULT_DATA = ROOT / "data" / "london_faces"
#: Seeds of the sample picture: one column each, one row per psi.
PICTURE_SEEDS = list(range(8))


class Truncated(nn.Module):
    """A noise generator that always samples at one truncation psi.

    The scorecard draws images as ``G(z, labels)``; wrapping is how the same protocol scores a
    truncated model without a second copy of the scoring code.
    """

    def __init__(self, generator: nn.Module, psi: float) -> None:
        super().__init__()
        self.generator = generator
        self.psi = psi
        self.config = generator.config

    def forward(self, z: torch.Tensor, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.generator(z, class_labels, truncation_psi=self.psi)


def check_psis(values: list[float]) -> list[float]:
    from zoo.limits import check_psi

    psis = [check_psi(v) for v in values]
    if len(set(psis)) != len(psis):
        raise SystemExit(f"--psi values repeat: {psis}")
    return psis


def scoring_context(model_dir: Path, data_dir: Path, cache_dir: Optional[Path] = None):
    """The model's training config, its data as the trainer split it, and the real feature sets."""
    from training.data import load_data
    from training.evaluate import load_config
    from training.families import get_family
    from training.scorecard import real_sets

    from zoo.families import UNCONDITIONAL
    from zoo.registry import task_of

    if task_of(model_dir) != UNCONDITIONAL:
        raise SystemExit(f"{model_dir}: truncation applies to noise -> image models, not {task_of(model_dir)}")
    overrides = {"data_dir": str(data_dir), "compute_metrics": True}
    if cache_dir:
        overrides["cache_dir"] = str(cache_dir)
    cfg = load_config(model_dir, overrides)
    family = get_family(cfg.family)
    data = load_data(cfg)
    return cfg, family, data, real_sets(data, cfg.fid_batch_size)


def score_psis(
    model: str, psis: list[float], data_dir: Path, num_samples: int, cache_dir: Optional[Path] = None
) -> list[dict[str, Any]]:
    """One scorecard row (protocol "vs training people") per psi."""
    from training.scorecard import generator_scores
    from zoo.registry import load_pipeline, resolve

    model_dir = Path(resolve(model)[0])
    if not model_dir.is_dir():
        raise SystemExit(f"{model}: scoring needs a local checkpoint directory (its training config and data)")
    cfg, family, data, real = scoring_context(model_dir, data_dir, cache_dir)
    generator = load_pipeline(model).generator.eval()
    rows = []
    for psi in psis:
        print(f"[truncation] {model}: psi {psi}", flush=True)
        scores = generator_scores(family, Truncated(generator, psi), data, real, torch.device("cpu"),
                                  num_samples, cfg.seed, cfg.fid_batch_size)["vs_train"]
        rows.append({"model": model, "psi": psi, **{k: scores.get(k) for k in (
            "kid", "kid_std", "precision", "recall", "diversity", "memorisation_ratio", "num_fake_kid",
            "num_real", "num_fake_pr", "k")}})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| model | psi | KID | precision | recall | diversity | memorisation |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    def cell(value: Optional[float], digits: int) -> str:  # None: not measurable (e.g. no held-out people)
        return "-" if value is None else f"{value:.{digits}f}"

    for r in rows:
        lines.append(
            f"| {r['model']} | {r['psi']:.2f} | {cell(r['kid'], 4)} | {cell(r['precision'], 3)} | "
            f"{cell(r['recall'], 3)} | {cell(r['diversity'], 3)} | {cell(r['memorisation_ratio'], 3)} |"
        )
    first = rows[0]
    lines.append(
        f"\nKID: {first['num_fake_kid']} generated images; precision/recall: k={first['k']}, "
        f"{first['num_fake_pr']} generated vs {first['num_real']} training images; the same latents at every psi."
    )
    return "\n".join(lines)


def draw_plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5), dpi=120)
    for index, model in enumerate(models):
        mine = [r for r in rows if r["model"] == model]
        psi, colour = [r["psi"] for r in mine], f"C{index}"  # one colour per model in both panels
        left.plot(psi, [r["precision"] for r in mine], "o-", color=colour, label=f"{model} precision")
        left.plot(psi, [r["recall"] for r in mine], "s--", color=colour, label=f"{model} recall")
        right.plot(psi, [r["kid"] for r in mine], "o-", color=colour, label=model)
    left.set(xlabel="truncation psi", ylabel="k-NN precision / recall (k=3)", ylim=(0, 1))
    right.set(xlabel="truncation psi", ylabel="KID (lower is better)")
    for ax in (left, right):
        ax.invert_xaxis()  # stronger truncation to the right
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_samples(models: list[str], psis: list[float], path: Path) -> None:
    """Rows: each model at each psi; columns: the same seeds."""
    from diffusers.utils import make_image_grid
    from zoo.registry import load_pipeline

    images = []
    for model in models:
        pipe = load_pipeline(model)
        for psi in psis:
            images += pipe(seeds=PICTURE_SEEDS, truncation_psi=psi).images
    make_image_grid(images, rows=len(models) * len(psis), cols=len(PICTURE_SEEDS)).save(path)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help=f"noise -> image model (repeatable; default {DEFAULT_MODELS})")
    parser.add_argument("--psi", type=float, action="append", help=f"truncation psi (repeatable; default {DEFAULT_PSI})")
    parser.add_argument("--data_dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache_dir", type=Path, help="where the decoded data and real features are cached (default: the trainer's)")
    parser.add_argument("--num_samples", type=int, default=1000, help="generated images for KID (the cards use 1000)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "truncation")
    args = parser.parse_args(argv)
    psis = check_psis(args.psi or DEFAULT_PSI)
    models = args.model or DEFAULT_MODELS
    rows = [row for model in models for row in score_psis(model, psis, args.data_dir, args.num_samples, args.cache_dir)]
    args.out.mkdir(parents=True, exist_ok=True)
    table = format_table(rows)
    (args.out / "table.md").write_text(table + "\n")
    (args.out / "truncation.json").write_text(json.dumps(rows, indent=2) + "\n")
    draw_plot(rows, args.out / "tradeoff.png")
    draw_samples(models, psis, args.out / "samples.png")
    print(table)
    print(f"wrote {args.out}/table.md, truncation.json, tradeoff.png, samples.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
