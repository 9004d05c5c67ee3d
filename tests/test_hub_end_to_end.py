"""Train -> publish -> download -> generate, through the real huggingface_hub client and a loopback Hub."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import numpy as np
from huggingface_hub import ModelCard

from conftest_hub import HubHandle, loopback_hub  # noqa: F401 (fixture)
from training.config import build_config
from training.loop import Trainer
from training.synthetic import make_imagefolder
from zoo.pipelines import GANSamplingPipeline

REPO = "zoo-test/tiny-faces"


def test_trained_model_published_and_loaded_back_reproduces_outputs(tmp_path, loopback_hub: HubHandle):
    data = make_imagefolder(tmp_path / "data", num_images=12, size=40)
    out = tmp_path / "run"
    cfg = build_config(
        {"data_dir": str(data), "cache_dir": str(tmp_path / "cache"), "output_dir": str(out), "tiny": True},
        {"family": "dcgan", "batch_size": 4, "max_steps": 3, "compute_metrics": True, "num_fid_samples": 8,
         "model_card": True, "push_to_hub": True, "hub_model_id": REPO},
    )
    command = f"python training/train.py --data_dir {data} --cache_dir {tmp_path / 'cache'} --output_dir={out}"
    assert Trainer(cfg, command=command).run() == 0
    local_metrics = json.loads((out / "metrics.json").read_text())
    assert local_metrics["fid"] is not None

    published = loopback_hub.repos[REPO].head()
    assert {"samples/final_grid.png", "samples/progress.gif", "samples/loss_curves.png"} <= set(published)
    # No uploaded file carries the trainer's local paths or user name.
    local = [str(tmp_path), str(tmp_path.resolve()), str(Path.home()), f"/{getpass.getuser()}/"]
    for name, content in published.items():
        if name.endswith((".json", ".yaml", ".md", ".txt")):
            text = content.decode()
            assert not [p for p in local if p in text], f"{name} names a local path"
    summary = json.loads(published["training_summary.json"])
    assert "--data_dir .../data" in summary["command"] and summary["config"]["data_dir"] == ".../data"

    loopback_hub.use_fresh_cache()
    card = ModelCard(published["README.md"].decode())
    assert card.data.pipeline_tag == "unconditional-image-generation"
    assert "gan" in card.data.tags
    fid = next(r.metric_value for r in card.data.eval_results if r.metric_type == "fid")
    assert fid == local_metrics["fid"]

    remote = GANSamplingPipeline.from_pretrained(REPO)
    local = GANSamplingPipeline.from_pretrained(out)
    np.testing.assert_array_equal(
        remote(batch_size=4, seed=11, output_type="np").images, local(batch_size=4, seed=11, output_type="np").images
    )
    # The download went into the fresh cache and fetched no training state.
    snapshot_files = {p.name for p in loopback_hub.home.rglob("*") if p.is_file()}
    assert "diffusion_pytorch_model.safetensors" in snapshot_files
    assert not any(name.endswith((".pkl", ".bin")) for name in snapshot_files)
