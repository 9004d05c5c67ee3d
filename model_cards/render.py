"""Render a checkpoint directory's model card (``README.md``) from the files the trainer wrote.

Every number in the card comes from ``training_summary.json``, ``metrics.json`` and
``training_config.yaml`` in the checkpoint directory (see docs/contracts.md), so a card can never
claim a result that was not measured: a metric that is missing or ``null`` renders as
"not measured" and is left out of the ``model-index`` metadata. The metadata (pipeline tag, tags,
eval results) is built with ``ModelCardData``/``EvalResult`` so the Hub indexes it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from zoo import families

TEMPLATE_PATH = Path(__file__).parent / "templates" / "model_card.md.jinja"
NOT_MEASURED = "not measured"
NOT_RECORDED = "not recorded"
#: Card images, relative to the checkpoint directory; each is linked only if the trainer wrote it.
IMAGES = {
    "final_grid": "samples/final_grid.png",
    "progress": "samples/progress.gif",
    "loss_curves": "samples/loss_curves.png",
    "nearest_neighbours": "samples/nearest_neighbours.png",
}


def render_model_card(checkpoint_dir: Union[str, os.PathLike], repo_id: Optional[str] = None) -> ModelCard:
    """The card for ``checkpoint_dir``; usage snippets load ``repo_id`` (the local directory if ``None``)."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        raise ValueError(f"checkpoint_dir {root} is not a directory")
    summary = _read_json(root / "training_summary.json", required=True)
    metrics = _read_json(root / "metrics.json", required=False)
    family = summary.get("family")
    if family not in families.FAMILIES:
        raise ValueError(f"training_summary.json has family {family!r}; expected one of {sorted(families.FAMILIES)}")
    spec = families.family(family)
    classes = list(summary.get("class_names") or [])
    config = summary.get("config") or {}
    dataset = summary.get("dataset") or {}
    model = repo_id or str(root)
    model_name = (repo_id or root.resolve().name).split("/")[-1]

    card_data = ModelCardData(
        model_name=model_name,
        library_name="diffusers",
        pipeline_tag=spec.task,
        # custom_code: a published repo carries gan_zoo_code.py (zoo/hub_code.py); a local folder does not.
        tags=["gan", family, "gan-zoo", *(["custom_code"] if repo_id else []),
              *(["class-conditional"] if classes else [])],
        datasets=[dataset["hub_id"]] if dataset.get("hub_id") else None,  # only Hub dataset ids belong here
        eval_results=_eval_results(spec, metrics, dataset) or None,
        **_license_fields(summary.get("license") or config.get("license") or dataset.get("license")),
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE_PATH),
        title=model_name,
        description=spec.description,
        family_name=spec.display_name,
        discriminator=_discriminator(spec, config),
        resolution=summary.get("resolution") or config.get("resolution") or NOT_RECORDED,
        python_snippet=families.python_usage(spec.task, model, class_names=classes, psi=spec.suggested_psi).rstrip("\n"),
        diffusers_snippet=(families.diffusers_usage(spec.task, repo_id, class_names=classes,
                                                    psi=spec.suggested_psi).rstrip("\n")
                           if repo_id else None),
        extra_requirements=families.task(spec.task).remote_requirements,
        cli_command=families.cli_usage(spec.task, model, class_names=classes),
        dataset={key: _or(dataset.get(key), NOT_RECORDED) for key in
                 ("name", "num_images", "train_size", "heldout_size", "license", "credit")},
        training={
            "steps": _or(summary.get("steps"), NOT_RECORDED),
            "hardware": _or(summary.get("hardware"), NOT_RECORDED),
            "num_processes": _or(summary.get("num_processes"), NOT_RECORDED),
            "mixed_precision": _or(summary.get("mixed_precision"), NOT_RECORDED),
            "wall_time": _duration(summary.get("wall_time_seconds")),
            "command": _or(summary.get("command"), NOT_RECORDED),
            "reproduce": summary.get("reproduce"),
        },
        config_yaml=_config_yaml(root, config),
        evaluation=_evaluation(spec, metrics),
        images={key: rel if (root / rel).is_file() else None for key, rel in IMAGES.items()},
    )


def _discriminator(spec: families.FamilySpec, config: dict[str, Any]) -> Optional[str]:
    """What the generator was trained against. The weights do not say, yet it shapes what they learned
    (a projected D scores images with ImageNet features), so the card names it; None when unrecorded."""
    kind = config.get("discriminator")
    if kind == "projected":
        return ("a projected discriminator: small heads on frozen, ImageNet-pretrained EfficientNet-lite0 features "
                "(Sauer et al., 2021, *Projected GANs Converge Faster*)")
    if kind == "classic":
        return f"the {spec.display_name} family's own discriminator (`{spec.discriminator_class}`)"
    return None


def write_model_card(checkpoint_dir: Union[str, os.PathLike], repo_id: Optional[str] = None) -> Path:
    """Render the card and save it as ``<checkpoint_dir>/README.md`` (what the Hub shows)."""
    path = Path(checkpoint_dir) / "README.md"
    render_model_card(checkpoint_dir, repo_id=repo_id).save(path)
    return path


def _read_json(path: Path, required: bool) -> dict[str, Any]:
    if not path.is_file():
        if required:
            raise ValueError(f"{path} is missing; the model card is rendered from the trainer's output files")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def _or(value: Any, default: str) -> Any:
    return default if value is None or value == "" else value


def _number(value: Optional[float], fmt: str = "{:.2f}") -> str:
    return NOT_MEASURED if value is None else fmt.format(value)


def _count(value: Optional[int]) -> str:
    return NOT_MEASURED if value is None else f"{value:,}"


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return NOT_RECORDED
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


#: Hub licence ids a written licence name may stand for ("CC BY 4.0" is the Hub's ``cc-by-4.0``).
HUB_LICENSES = {
    "apache-2.0", "mit", "bsd-3-clause", "cc0-1.0", "cc-by-2.0", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0",
    "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nd-4.0",
    "cc-by-nc-nd-4.0", "openrail", "creativeml-openrail-m", "gpl-3.0", "lgpl-3.0", "unlicense",
}


def _license_fields(license_: Optional[str]) -> dict[str, str]:
    """The Hub licence id for a licence written as an id or a name; anything else is ``other`` + a slug."""
    if not license_:
        return {"license": "other", "license_name": "unknown"}
    as_id = re.sub(r"\s+", "-", license_.strip().lower())
    if as_id in HUB_LICENSES:
        return {"license": as_id}
    return {"license": "other", "license_name": re.sub(r"[^a-z0-9]+", "-", license_.lower()).strip("-")}


def _eval_results(spec: families.FamilySpec, metrics: dict, dataset: dict) -> list[EvalResult]:
    measured = [("fid", "FID", metrics.get("fid")), ("kid", "KID (mean)", metrics.get("kid_mean"))]
    if families.task(spec.task).paired_metrics:
        measured += [("l1", "L1", metrics.get("l1")), ("ssim", "SSIM", metrics.get("ssim"))]
    name = dataset.get("name") or "unknown"
    # FID/KID compare with the training split; L1/SSIM are scored on the held-out people.
    splits = {"l1": metrics.get("paired_split"), "ssim": metrics.get("paired_split")}
    return [
        EvalResult(
            task_type=spec.task,
            dataset_type=dataset.get("hub_id") or name,
            dataset_name=name,
            dataset_split=splits.get(metric_type, metrics.get("real_split")),
            metric_type=metric_type,
            metric_name=metric_name,
            metric_value=value,
        )
        for metric_type, metric_name, value in measured
        if value is not None
    ]


def _evaluation(spec: families.FamilySpec, metrics: dict) -> dict[str, Any]:
    kid = _number(metrics.get("kid_mean"), "{:.4f}")
    if metrics.get("kid_mean") is not None and metrics.get("kid_std") is not None:
        kid += f" ± {metrics['kid_std']:.4f}"
    rows = [
        ("FID (lower is better)", _number(metrics.get("fid"))),
        ("KID mean ± std (lower is better)", kid),
        ("Generated samples", _count(metrics.get("num_generated"))),
        ("Real images", _count(metrics.get("num_real"))),
    ]
    if families.task(spec.task).paired_metrics:
        rows += [
            ("L1 on held-out sketches (lower is better)", _number(metrics.get("l1"), "{:.4f}")),
            ("SSIM on held-out sketches (higher is better)", _number(metrics.get("ssim"), "{:.4f}")),
            ("Baseline L1: mean face", _number(metrics.get("baseline_l1"), "{:.4f}")),
        ]
    history = [
        {"step": row.get("step"), "label": row.get("label") or f"step {row.get('step')}", "fid": _number(row.get("fid")),
         "kid_mean": _number(row.get("kid_mean"), "{:.4f}"), "l1": _number(row.get("l1"), "{:.4f}")}
        for row in metrics.get("history") or []
    ]
    suite = metrics.get("evaluation") or {}
    return {
        "suite": _suite_rows(suite) if suite.get("vs_half") else None,
        "step": _or(metrics.get("step"), NOT_RECORDED),
        "real_split": _or(metrics.get("real_split"), NOT_RECORDED),
        "rows": rows,
        "history": history,
        "history_has_l1": any(row.get("l1") is not None for row in metrics.get("history") or []),
        "evaluated_with": metrics.get("evaluated_with"),
        "kept_history_evaluated_with": metrics.get("kept_history_evaluated_with"),
    }


def _suite_rows(suite: dict) -> dict[str, Any]:
    """The scorecard of ``python -m training.evaluate`` as table cells (see training/scorecard.py)."""
    half, ref, train = suite["vs_half"], suite.get("reference_real_vs_real") or {}, suite.get("vs_train") or {}

    def half_row(name: str, s: dict) -> dict[str, str]:
        return {"name": name, "n": f"{s.get('num_real')} / {s.get('num_fake')}", "precision": _number(s.get("precision"), "{:.3f}"),
                "recall": _number(s.get("recall"), "{:.3f}"), "kid": _number(s.get("kid"), "{:.4f}"),
                "diversity": _number(s.get("diversity"), "{:.3f}")}

    rows = ([half_row("real people, half B (best possible)", ref)] if ref else []) + [half_row("this model", half)]
    return {
        "follows": _follows_rows(suite.get("faithfulness") or {}),
        "features": suite.get("features", NOT_RECORDED),
        "halves": suite.get("halves", NOT_RECORDED),
        "half_rows": rows,
        "train": {
            "kid": _number(train.get("kid"), "{:.4f}"), "num_fake_kid": _count(train.get("num_fake_kid")),
            "precision": _number(train.get("precision"), "{:.3f}"), "recall": _number(train.get("recall"), "{:.3f}"),
            "k": train.get("k", NOT_RECORDED), "num_real": _count(train.get("num_real")),
            "diversity": _number(train.get("diversity"), "{:.3f}"),
            "within": _number(train.get("within_condition_diversity"), "{:.3f}"),
            "memorisation": _number(train.get("memorisation_ratio"), "{:.3f}"),
        },
    }


def _follows_rows(f: dict) -> Optional[dict[str, Any]]:
    """How well a conditional model follows its input, as a small table (None for unconditional)."""
    if "sketch_styles" in f:
        header = ["Input style (held-out people)", "n", "L1 ↓", "SSIM ↑", "Edge consistency L1 ↓", "KID ↓", "Precision ↑"]
        rows = [[style, str(v["n"]), _number(v.get("l1"), "{:.4f}"), _number(v.get("ssim"), "{:.3f}"),
                 _number(v.get("edge_consistency_l1"), "{:.4f}"), _number(v.get("kid"), "{:.4f}"),
                 _number(v.get("precision"), "{:.3f}")] for style, v in f["sketch_styles"].items()]
        return {"header": header, "rows": rows, "note": "Edge consistency compares the output's own XDoG sketch with the input."}
    if "template_wording" in f:
        ceiling = f.get("probe_ceiling") or {}
        header = ["Attribute", "Accuracy, training template's wording", "Accuracy, unseen wording", "Probe ceiling (unseen people)"]
        rows = [[a, _number(f["template_wording"]["accuracy"].get(a)), _number(f["unseen_wording"]["accuracy"].get(a)),
                 _number(ceiling.get(a))] for a in ("gender", "expression")]
        if "ethnicity" in f:  # asked in the template's wording only
            rows.append(["ethnicity (white / not white)", _number(f["ethnicity"]["accuracy"].get("ethnicity")), "-",
                         _number(ceiling.get("ethnicity"))])
        return {"header": header, "rows": rows,
                "note": f"{f.get('per_prompt')} seeds per prompt, read by linear probes on Inception features of real "
                        "faces; balanced accuracy (the mean over classes of the share read as asked)."}
    if "class_accuracy" in f:
        return {"header": ["Attribute", "Class accuracy", "Probe ceiling"],
                "rows": [[f["attribute"], _number(f["class_accuracy"]), _number(f["probe_ceiling"])]],
                "note": f"{f.get('per_class')} samples per class, read by a linear probe on Inception features of real faces."}
    return None


def _config_yaml(root: Path, config: dict) -> str:
    """The resolved config exactly as the trainer saved it (falling back to the summary's copy)."""
    path = root / "training_config.yaml"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return yaml.safe_dump(config, sort_keys=False).strip() if config else f"# {NOT_RECORDED}"
