"""End-to-end tiny training runs (in-process, CPU): every family writes the full checkpoint directory."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file

from conftest_hub import HubHandle, loopback_hub  # noqa: F401 (fixture)
from training.config import PATH_FIELDS, build_config, portable_path
from training.loop import Trainer
from training.synthetic import make_imagefolder
from zoo.pipelines import GANSamplingPipeline, Sketch2PhotoPipeline, Text2ImagePipeline

TEMPLATE = "a {expression} {gender_noun}[ in {possessive} {age_band}], {ethnicity}"
FAMILY_ARGS = {
    "dcgan": {"label_column": "expression", "class_head": "ac", "r1_gamma": 1.0, "r1_interval": 2},
    "stylegan": {"r1_gamma": 1.0, "r1_interval": 2},
    "fastgan": {"spectral_norm": True, "lambda_ms": 0.1},  # the classic path: DCGAN's D with spectral norm
    "pix2pix": {"sketch_source": "xdog", "split_key": "face_id", "heldout_fraction": 0.34},
    "textgan": {"caption_template": TEMPLATE, "split_key": "face_id", "generator_kwargs": {"refine_resolution": 64}},
}
PIPELINES = {"dcgan": GANSamplingPipeline, "stylegan": GANSamplingPipeline, "fastgan": GANSamplingPipeline,
             "pix2pix": Sketch2PhotoPipeline,
             "textgan": Text2ImagePipeline}
TASKS = {"dcgan": "unconditional-image-generation", "stylegan": "unconditional-image-generation",
         "fastgan": "unconditional-image-generation",
         "pix2pix": "image-to-image", "textgan": "text-to-image"}  # the Hub pipeline_tag, as cards and the app say


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("data"), num_images=12, size=40)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def run(folder: Path, cache: Path, out: Path, **values) -> Trainer:
    base = {"data_dir": str(folder), "cache_dir": str(cache), "output_dir": str(out), "tiny": True}
    cfg = build_config(base, {"compute_metrics": False, "batch_size": 4, **values})  # these win over tiny
    trainer = Trainer(cfg, command="pytest")
    assert trainer.run() == 0
    return trainer


@pytest.mark.parametrize("family", ["dcgan", "stylegan", "fastgan", "pix2pix", "textgan"])
def test_each_family_trains_and_writes_the_checkpoint_directory(family, folder, cache, tmp_path):
    out = tmp_path / "run"
    trainer = run(folder, cache, out, family=family, checkpoints_total_limit=1, **FAMILY_ARGS[family])
    expected = [
        "model_index.json", "generator/config.json", "generator/diffusion_pytorch_model.safetensors",
        "training_config.yaml", "training_summary.json", "metrics.json", "samples/final_grid.png",
        "samples/progress.gif", "samples/loss_curves.png", "samples/grid_step_000002.png",
        "samples/grid_step_000004.png", "checkpoints/checkpoint-4/model_2.safetensors",
    ]
    for rel in expected:
        assert (out / rel).is_file(), rel
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["checkpoint-4"]  # total limit 1 pruned step 2
    grids = {(out / f"samples/grid_step_00000{s}.png").read_bytes() for s in (2, 4)}
    with Image.open(out / "samples/progress.gif") as gif:
        assert gif.n_frames == len(grids)  # one frame per step grid (Pillow merges identical frames)

    # The published generator is the EMA copy from the last checkpoint (accelerate's model_2), not G.
    saved = load_file(out / "generator/diffusion_pytorch_model.safetensors")
    ema = load_file(out / "checkpoints/checkpoint-4/model_2.safetensors")
    raw_g = load_file(out / "checkpoints/checkpoint-4/model.safetensors")
    norm_stats = [k for k in saved if "running_" in k]
    weights = [k for k in saved if k not in norm_stats and not k.endswith("num_batches_tracked")]
    assert saved.keys() == ema.keys() and all(torch.equal(saved[k], ema[k]) for k in weights)
    assert any(not torch.equal(saved[k], raw_g[k]) for k in saved)
    # StyleGAN's truncation centre w_avg is copied from G, not averaged.
    assert all(torch.equal(saved[k], raw_g[k]) for k in saved if k == "w_avg")
    # BatchNorm statistics are re-estimated on the EMA weights (the copied ones describe G's weights).
    if norm_stats:
        assert any(not torch.equal(saved[k], raw_g[k]) for k in norm_stats)
    if family == "stylegan":
        assert saved["w_avg"].abs().sum() > 0  # updated by the trainer from the mapped w

    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["family"] == family and summary["task"] == TASKS[family] and summary["steps"] == 4
    assert summary["num_processes"] == 1 and summary["command"] == "pytest" and summary["wall_time_seconds"] > 0
    assert "CPU" in summary["hardware"] and summary["mixed_precision"] == "no"
    assert summary["dataset"]["num_images"] == 12
    # Class-conditional runs name their classes for the app's pickers; others do not pretend to.
    assert summary.get("class_names") == (trainer.data.class_names if family == "dcgan" else None)
    assert family != "dcgan" or len(summary["class_names"]) >= 2
    assert summary["dataset"]["train_size"] + summary["dataset"]["heldout_size"] == 12
    resolved = yaml.safe_load((out / "training_config.yaml").read_text())
    # The preset is baked in; local paths are recorded in portable form (no absolute path is published).
    portable = {name: portable_path(getattr(trainer.cfg, name)) for name in PATH_FIELDS
                if isinstance(getattr(trainer.cfg, name), str)}
    assert build_config(resolved) == dataclasses.replace(trainer.cfg, tiny=False, **portable)

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 4 and metrics["fid"] is None and metrics["history"] == []  # not computed -> null
    if family == "pix2pix":
        assert 0 < metrics["l1"] < 1 and -1 <= metrics["ssim"] <= 1 and metrics["baseline_l1"] > 0
        assert metrics["paired_split"] == "heldout"
    losses = trainer.progress.loss_history
    assert [row["step"] for row in losses] == [2, 4] and all(np.isfinite(row["d_loss"]) for row in losses)

    pipe = PIPELINES[family].from_pretrained(str(out))
    if family == "pix2pix":
        images = pipe(Image.open(folder / "images/000.png"), from_photo=True).images
    elif family == "textgan":
        images = pipe("a smiling woman in her twenties, white", seed=0).images
        assert images[0].size == (64, 64)  # two-stage: 32 px refined to 64 px
        assert (out / "samples/captions.txt").read_text().count("\n") == 4
    else:
        labels = 1 if family == "dcgan" else None
        images = pipe(batch_size=2, seed=0, class_labels=labels).images
    assert len(images) >= 1 and images[0].mode == "RGB"


def test_fid_history_model_card_and_tracker_logs(folder, cache, tmp_path):
    out = tmp_path / "run"
    run(folder, cache, out, compute_metrics=True, eval_steps=2, num_fid_samples=4, fid_batch_size=4,
        model_card=True, log_with="tensorboard")
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["step"] for h in metrics["history"]] == [2, 4]
    assert np.isfinite(metrics["fid"]) and metrics["fid"] == metrics["history"][-1]["fid"]
    assert metrics["num_generated"] == 4 and metrics["num_real"] == 11 and metrics["real_split"] == "train"
    assert (out / "README.md").read_text().count("fid") >= 1
    assert any((out / "logs").rglob("events.out.tfevents.*"))


def test_push_to_hub_publishes_the_directory_without_checkpoints(folder, cache, tmp_path, loopback_hub: HubHandle):
    out = tmp_path / "run"
    run(folder, cache, out, push_to_hub=True, hub_model_id="zoo-test/tiny-dcgan", model_card=True, max_steps=2)
    files = set(loopback_hub.repos["zoo-test/tiny-dcgan"].head())
    assert {"model_index.json", "generator/diffusion_pytorch_model.safetensors", "README.md", "metrics.json"} <= files
    assert not any(f.startswith(("checkpoints/", "logs/")) for f in files)


def test_text_discriminator_can_classify_an_attribute_the_generator_is_asked_for(folder, cache, tmp_path):
    """TAC-GAN: with a label_column, D learns the attribute on real photos (d_class) and G is scored
    on the attribute of the caption it drew (g_class); the label is not an input of the text model."""
    out = tmp_path / "out"
    trainer = run(folder, cache, out, family="textgan", caption_template=TEMPLATE, discriminator="projected",
                  discriminator_kwargs={"head_channels": 8, "projection_channels": [8, 8, 16, 16]},
                  label_column="expression", class_head="ac", lambda_ms=0.1, max_steps=2, logging_steps=1)
    rows = trainer.progress.loss_history
    assert all(np.isfinite(row["d_class"]) and np.isfinite(row["g_class"]) for row in rows)
    heads = trainer.D_raw.stages[0].class_classifier
    assert heads is not None and heads.out_features == 2  # neutral, smiling
    assert "class_names" not in json.loads((out / "training_summary.json").read_text())
    from model_cards.render import write_model_card

    write_model_card(out)  # its usage snippets must not offer a class the text model cannot take
    assert "class_labels" not in (out / "README.md").read_text()


def test_text_model_with_the_style_generator_trains_and_loads_in_its_pipeline(folder, cache, tmp_path):
    """upsampling 'style' (text2face-64-style.yaml): the trainer's text losses, EMA and export work with
    the StyleGAN-style synthesis, and the exported generator samples through Text2ImagePipeline."""
    out = tmp_path / "out"
    style = {"upsampling": "style", "w_dim": 16, "mapping_layers": 2, "max_channels": 16, "condition_dim": 8}
    trainer = run(folder, cache, out, family="textgan", caption_template=TEMPLATE, discriminator="projected",
                  discriminator_kwargs={"head_channels": 8, "projection_channels": [8, 8, 16, 16]},
                  generator_kwargs=style, lambda_ms=0.05, max_steps=2, logging_steps=1)
    assert all(np.isfinite(row["g_adv"]) and np.isfinite(row["kl"]) for row in trainer.progress.loss_history)
    assert json.loads((out / "generator" / "config.json").read_text())["upsampling"] == "style"
    pipe = Text2ImagePipeline.from_pretrained(out)
    images = pipe(["a smiling woman", "a neutral man"], seed=3, output_type="pt").images
    assert images.shape == (2, 3, 32, 32) and 0 <= images.min() and images.max() <= 1
    again = pipe(["a smiling woman", "a neutral man"], seed=3, output_type="pt").images
    assert torch.equal(images, again)
