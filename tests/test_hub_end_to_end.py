"""Train -> publish -> download -> generate, through the real huggingface_hub client and a loopback Hub."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from huggingface_hub import ModelCard

from conftest_hub import HubHandle, loopback_hub  # noqa: F401 (fixture)
from training.config import build_config
from training.loop import Trainer
from training.synthetic import make_imagefolder
from zoo import registry
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


#: Runs in a subprocess that cannot import GAN Zoo (its modules are blocked even though the venv has
#: them installed): only torch, diffusers and safetensors, as for anyone who finds the repo on the Hub.
PLAIN_DIFFUSERS = """
import importlib.abc, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"zoo", "training", "ui", "model_cards", "app"}:
            raise ImportError(name + " is GAN Zoo code, which this process must not use")
sys.meta_path.insert(0, Blocked())
import numpy as np
from diffusers import DiffusionPipeline
from PIL import Image
pipe = DiffusionPipeline.from_pretrained(sys.argv[1], trust_remote_code=True)
if sys.argv[3] == "noise":
    images = pipe(batch_size=3, seed=11, output_type="np").images
elif sys.argv[3] == "text":  # also needs transformers and the MiniLM encoder wheel, as its card says
    images = pipe("a smiling woman", num_images_per_prompt=3, seed=11, output_type="np").images
else:  # a drawing: dark lines on white
    drawing = np.full((48, 48, 3), 255, np.uint8)
    drawing[10:38:6, 8:40] = 20
    images = pipe(Image.fromarray(drawing), output_type="np").images
np.save(sys.argv[2], images)
print(type(pipe).__name__, type(pipe.generator).__module__)
"""


@pytest.mark.parametrize("family", ["dcgan", "pix2pix", "textgan"])
def test_published_repo_loads_in_plain_diffusers_with_the_same_pixels(tmp_path, loopback_hub: HubHandle, family):
    import subprocess
    import sys

    from training.publish import publish_checkpoint
    from zoo.hub_code import REMOTE_MODULE

    repo = f"zoo-test/plain-{family}"
    data = make_imagefolder(tmp_path / "data", num_images=8, size=40)
    out = tmp_path / "run"
    extra = {"pix2pix": {"sketch_source": "xdog"}, "textgan": {"caption_template": "a {expression} {gender_noun}"}}.get(family, {})
    cfg = build_config(
        {"data_dir": str(data), "cache_dir": str(tmp_path / "cache"), "output_dir": str(out), "tiny": True},
        {"family": family, "batch_size": 4, "max_steps": 2, "compute_metrics": False, **extra},
    )
    assert Trainer(cfg, command="pytest").run() == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "README.md"}
    publish_checkpoint(out, repo)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "README.md"} == before

    published = loopback_hub.repos[repo].head()
    assert {f"{REMOTE_MODULE}.py", f"generator/{REMOTE_MODULE}.py"} <= set(published)
    index = json.loads(published["model_index.json"])
    assert index["_class_name"][0] == index["generator"][0] == REMOTE_MODULE

    result = tmp_path / "plain.npy"
    mode = {"dcgan": "noise", "pix2pix": "sketch", "textgan": "text"}[family]
    proc = subprocess.run([sys.executable, "-c", PLAIN_DIFFUSERS, repo, str(result), mode], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "gan_zoo_hub." in proc.stdout.splitlines()[-1]  # the repo's own code, not an installed zoo

    ours = registry.load_pipeline(repo)  # GAN Zoo's loader: picks its own classes, runs no repo code
    if mode == "noise":
        expected = ours(batch_size=3, seed=11, output_type="np").images
    elif mode == "text":
        expected = ours("a smiling woman", num_images_per_prompt=3, seed=11, output_type="np").images
    else:
        drawing = np.full((48, 48, 3), 255, np.uint8)
        drawing[10:38:6, 8:40] = 20
        expected = ours(Image.fromarray(drawing), output_type="np").images
    np.testing.assert_array_equal(np.load(result), expected)
