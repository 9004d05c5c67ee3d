"""How much of each prompt attribute survives the text generator's conditioning augmentation.

    python bench/condition_noise.py                                   # the bundled text2face-64
    python bench/condition_noise.py --model runs/my-text-run          # any textgan checkpoint dir
    python bench/condition_noise.py --scales 1 0.5 0                  # + faithfulness per noise scale (slow)

Why: the generator never sees the prompt embedding itself, only ``c = mu + sigma * noise`` with
``(mu, log sigma^2) = ca(embedding)`` (StackGAN's conditioning augmentation), and the KL term pulls
``mu`` towards 0 and ``sigma`` towards 1. When changing one word of the prompt moves ``mu`` by much
less than the noise's length, that word is close to invisible in every single sample, and the
generator is free to ignore it. The first table gives, per attribute, the mean distance between
``mu`` of a caption and of the same caption with that attribute changed (template wording of the
model's own training config, over the London faces rows), the mean length of the noise term
``|sigma * noise|``, the noise's standard deviation along the shift (all a linear read-out of the
word has to beat) and the shift over that, the word's signal-to-noise ratio (d').

``--scales`` then samples with the noise multiplied by each scale and reads the images with the
attribute probes of the evaluation suite (``training/faithfulness.py``), to see whether the model
would follow prompts better if the app simply drew less noise. Scale 1 is how the app samples.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import yaml  # noqa: E402

from training.captions import build_caption  # noqa: E402

#: The attribute values compared, as the London faces metadata writes them (first value vs each other one).
PAIRS = {
    "gender": [("female", "male")],
    "expression": [("neutral", "smiling")],
    "ethnicity": [("white", "black"), ("white", "east_asian"), ("white", "west_asian")],
    "age": [("24", "47")],
}


def signal_rows(generator, encoder, template: str, rows: list[dict[str, str]]) -> list[dict[str, float | str]]:
    """Per attribute pair: mean ``|mu(a) - mu(b)|`` over ``rows``, the noise's length and spread along the shift.

    ``E|sigma * noise|`` is taken as ``sqrt(sum sigma^2)``, the root of its expected square: noise is N(0, I).
    Along the unit shift direction ``u`` the noise is N(0, sum sigma^2 u^2); ``ratio`` is the mean shift over
    the mean of that standard deviation: how many noise widths apart the two captions' conditions lie.
    """
    out = []
    for field, pairs in PAIRS.items():
        for a, b in pairs:
            with torch.no_grad():
                _, mu_a, logvar_a = generator.condition(encoder.encode([build_caption(template, {**r, field: a}) for r in rows]))
                _, mu_b, _ = generator.condition(encoder.encode([build_caption(template, {**r, field: b}) for r in rows]))
            delta = mu_a - mu_b
            direction = delta / delta.norm(dim=1, keepdim=True).clamp_min(1e-12)
            shift = delta.norm(dim=1).mean().item()
            noise = logvar_a.exp().sum(dim=1).sqrt().mean().item()
            along = (logvar_a.exp() * direction.pow(2)).sum(dim=1).sqrt().mean().item()
            out.append({"attribute": field, "values": f"{a} / {b}", "mu_shift": shift, "noise": noise,
                        "noise_along_shift": along, "ratio": shift / along})
    return out


def faithfulness_at_scales(model_dir: Path, data_dir: Path, scales: list[float]) -> list[tuple[float, dict]]:
    """Probe accuracies (``training/faithfulness.py``) with the pipeline's CA noise multiplied by each scale."""
    from training import scorecard
    from training.data import load_data
    from training.evaluate import load_config
    from training.families import get_family
    from zoo.registry import load_pipeline

    cfg = load_config(model_dir, {"data_dir": str(data_dir), "compute_metrics": True})
    data, family, device = load_data(cfg), get_family(cfg.family), torch.device("cpu")
    generator = load_pipeline(str(model_dir)).generator.eval()
    real = scorecard.real_sets(data, cfg.fid_batch_size, device)
    condition = generator.condition
    results = []
    for scale in scales:
        # Patched on this instance only: the pipeline passes its seeded noise, scaled here on the way in.
        generator.condition = lambda embeds, noise=None, s=scale: condition(embeds, None if noise is None else noise * s)
        follows = scorecard.faithfulness_scores(family, generator, data, real, data_dir, device) or {}
        results.append((scale, {block: v["accuracy"] for block, v in follows.items() if isinstance(v, dict) and "accuracy" in v}))
    generator.condition = condition
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "zoo" / "pretrained" / "text2face-64"), help="textgan checkpoint dir")
    parser.add_argument("--data_dir", default=str(ROOT / "data" / "london_faces"))
    parser.add_argument("--scales", type=float, nargs="*", default=[], help="CA noise scales to score faithfulness at")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args(argv)
    from zoo.registry import load_pipeline
    from zoo.text import load_sentence_encoder

    model_dir, data_dir = Path(args.model), Path(args.data_dir)
    config = yaml.safe_load((model_dir / "training_config.yaml").read_text())
    generator = load_pipeline(str(model_dir)).generator.eval()
    encoder = load_sentence_encoder(generator.config.text_encoder)
    with (data_dir / "metadata.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if all(r.get(f) for f in PAIRS)]  # every attribute known
    if not rows:
        raise SystemExit(f"error: no row of {data_dir / 'metadata.csv'} has every attribute of {sorted(PAIRS)}")
    table = signal_rows(generator, encoder, config["caption_template"], rows)
    print(f"{model_dir.name}: template {config['caption_template']!r}, lambda_kl {config.get('lambda_kl')}, {len(rows)} rows\n")
    print("| attribute | values | mean mu shift | mean noise length | noise s.d. along the shift | shift / s.d. (d') |")
    print("|---|---|---:|---:|---:|---:|")
    for r in table:
        print(f"| {r['attribute']} | {r['values']} | {r['mu_shift']:.3f} | {r['noise']:.3f} | "
              f"{r['noise_along_shift']:.3f} | {r['ratio']:.2f} |")
    scored = faithfulness_at_scales(model_dir, data_dir, args.scales) if args.scales else []
    if scored:
        blocks = list(scored[0][1])
        columns = [(block, attribute) for block in blocks for attribute in scored[0][1][block]]
        print("\nProbe accuracy (balanced) with the CA noise scaled; 1 = how the app samples:\n")
        print("| noise scale | " + " | ".join(f"{a} ({b.replace('_', ' ')})" for b, a in columns) + " |")
        print("|---:|" + "---:|" * len(columns))
        for scale, acc in scored:
            print(f"| {scale:g} | " + " | ".join(f"{acc[b][a]:.3f}" for b, a in columns) + " |")
    if args.json:
        print(json.dumps({"model": model_dir.name, "signal": table, "faithfulness": [{"scale": s, **a} for s, a in scored]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
