"""Does a text model draw the gender and expression a freely worded prompt asks for?

    python bench/prompt_wording.py                                   # bundled text2face-64, both prompt files
    python bench/prompt_wording.py --model zoo/pretrained/text2face-64 --model /tmp/old-text2face-64
    python bench/prompt_wording.py --prompts bench/prompts/users.tsv --per_prompt 32

Why: the evaluation (``python -m training.evaluate``) scores two fixed blocks of eight prompts, the
training captions' wording and eight wordings the captions never use. A block that small, looked at
while a recipe is tuned, stops being a test of how the model meets real users' wording. The prompt
files in ``bench/prompts/`` are more such wordings: ``dev.tsv`` was written here before the caption
vocabulary was last changed, ``users.tsv`` by a helper that saw neither the training captions nor
the evaluation's prompts. Images are drawn as the app draws them (the pipeline, seeds 0..n-1) and
read by the evaluation's own attribute probes (linear probes on Inception features of the real
photos, fit by :func:`training.scorecard.faithfulness_context`), so the numbers are comparable with
the model card's "follows its input" scores: balanced accuracy per attribute, and per prompt the
share of images the probe reads as smiling / as a woman.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

DEFAULT_PROMPTS = [ROOT / "bench" / "prompts" / "dev.tsv", ROOT / "bench" / "prompts" / "users.tsv"]
#: Prompt-file columns before the prompt, in order: the attributes each prompt asks for.
ATTRIBUTES = ("gender", "expression")


def read_prompts(path: Path) -> list[tuple[str, dict[str, str]]]:
    """``(prompt, {"gender": ..., "expression": ...})`` per line of a tab-separated file; ``#`` lines are comments."""
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != len(ATTRIBUTES) + 1 or not fields[-1].strip():
            raise SystemExit(f"{path}:{number}: expected '{chr(9).join(ATTRIBUTES)}<TAB>prompt', got {line!r}")
        out.append((fields[-1].strip(), dict(zip(ATTRIBUTES, fields))))
    if not out:
        raise SystemExit(f"{path}: no prompts")
    return out


def score(model_dir: Path, data_dir: Path, prompt_files: list[Path], per_prompt: int) -> dict:
    """Per prompt file: balanced accuracy per attribute, and per prompt the probe's reading."""
    from training import scorecard
    from training.data import load_data
    from training.evaluate import load_config
    from zoo.pipelines import Text2ImagePipeline

    cfg = load_config(model_dir, {"data_dir": str(data_dir), "compute_metrics": True})
    data = load_data(cfg, log=lambda *_: None)
    real = scorecard.real_sets(data, cfg.fid_batch_size)
    context = scorecard.faithfulness_context(data, real, data_dir)
    if context is None:
        raise SystemExit(f"{data_dir}: no metadata.csv matching the images, so no attribute probes")
    extract = scorecard.feature_extractor()
    pipe = Text2ImagePipeline.from_pretrained(str(model_dir))
    result = {}
    for path in prompt_files:
        prompts = read_prompts(path)
        images = pipe([p for p, _ in prompts], num_images_per_prompt=per_prompt, seed=0, output_type="pt").images
        with torch.no_grad():
            features = extract(images * 2 - 1)
        block = {"accuracy": {}, "prompts": [{"prompt": p, **wanted} for p, wanted in prompts]}
        for attribute, probe in context.probes.items():
            if attribute not in ATTRIBUTES:
                continue
            wanted = [w[attribute] for _, w in prompts for _ in range(per_prompt)]
            block["accuracy"][attribute] = probe.accuracy(features, wanted)
            # The share of each prompt's images read as the attribute's second class (smiling, woman).
            shown = probe.classes[-1]
            read = (probe.probe.predict(features) == probe.classes.index(shown)).float().view(len(prompts), per_prompt)
            for row, share in zip(block["prompts"], read.mean(dim=1).tolist()):
                row[f"read_as_{shown}"] = share
        result[path.name] = block
    return result


def format_report(name: str, result: dict) -> str:
    lines = []
    for file, block in result.items():
        accuracy = ", ".join(f"{a} {v:.3f}" for a, v in block["accuracy"].items())
        lines.append(f"## {name}: {file} ({len(block['prompts'])} prompts): balanced accuracy {accuracy}")
        shown = [k for k in block["prompts"][0] if k.startswith("read_as_")]
        lines.append("| asked | " + " | ".join(k.replace("_", " ") for k in shown) + " | prompt |")
        lines.append("|---|" + "---:|" * len(shown) + "---|")
        for row in block["prompts"]:
            asked = " ".join(row[a] for a in ATTRIBUTES)
            lines.append(f"| {asked} | " + " | ".join(f"{row[k]:.2f}" for k in shown) + f" | {row['prompt']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", help="text model directory (repeatable); default the bundled text2face-64")
    parser.add_argument("--prompts", action="append", type=Path, help="prompt file (repeatable); default bench/prompts/*.tsv")
    parser.add_argument("--data_dir", type=Path, default=ROOT / "data" / "london_faces")
    parser.add_argument("--per_prompt", type=int, default=16, help="images per prompt (seeds 0..n-1), as the evaluation")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.per_prompt < 2:
        parser.error("--per_prompt must be at least 2")
    models = [Path(m) for m in (args.model or [ROOT / "zoo" / "pretrained" / "text2face-64"])]
    files = args.prompts or DEFAULT_PROMPTS
    results = {}
    for model in models:  # not under inference_mode: fitting the probes needs autograd
        results[str(model)] = score(model, args.data_dir, files, args.per_prompt)
        print(format_report(str(model), results[str(model)]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
