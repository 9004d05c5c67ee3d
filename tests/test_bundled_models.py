"""The bundled face models: they load offline, generate, carry honest cards, and their recipes still run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard

from training.config import load_config
from training.loop import Trainer
from zoo import registry
from zoo.pipelines import GANSamplingPipeline, Sketch2PhotoPipeline, Text2ImagePipeline

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "london_faces"
BUNDLED = ["faces-projected-64", "faces-fastgan-64", "faces-expression-64", "faces-style-64", "sketch2face-64", "text2face-64"]


def _dir(name: str) -> Path:
    entry = registry.get_entry(name)
    if not entry.available:
        pytest.skip(f"{name} is not bundled in this checkout")
    return Path(entry.location)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_generates_offline(name):
    pipe = registry.load_pipeline(name)
    if isinstance(pipe, GANSamplingPipeline):
        labels = [0, 1] if pipe.generator.config.num_classes else None  # one image per class
        images = pipe(batch_size=2, seed=0, truncation_psi=0.7, class_labels=labels, output_type="np").images
    elif isinstance(pipe, Sketch2PhotoPipeline):
        sketch = pipe.sketch_of(np.full((64, 64, 3), 128, dtype=np.uint8) + np.eye(64, dtype=np.uint8)[..., None] * 100)
        images = pipe([sketch, sketch], output_type="np").images
    else:
        assert isinstance(pipe, Text2ImagePipeline)
        images = pipe("a smiling woman in her twenties, white", num_images_per_prompt=2, seed=0, output_type="np").images
    assert images.shape == (2, 64, 64, 3)
    assert np.isfinite(images).all() and images.std() > 0.02  # not a flat or broken image


@pytest.mark.parametrize("name", BUNDLED)
def test_registry_names_the_family_of_the_bundled_generator(name):
    """``zoo list`` and the app's model menu describe a model by its registry entry; a retrained model
    whose generator changed family must not keep its old label (faces-expression-64 once read "DCGAN")."""
    from zoo import families

    generator = json.loads((_dir(name) / "generator" / "config.json").read_text())["_class_name"]
    entry = registry.get_entry(name)
    assert entry.family == families.family_of_generator(generator).name
    wrong_label = {"dcgan": "StyleGAN", "stylegan": "DCGAN"}.get(entry.family)
    assert wrong_label is None or wrong_label not in entry.description


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_weights_are_small_fp16_safetensors(name):
    folder = _dir(name)
    weights = list(folder.glob("*/*.safetensors"))
    assert weights and not list(folder.rglob("*.bin")) and not (folder / "checkpoints").exists()
    assert sum(p.stat().st_size for p in weights) < 16e6
    from safetensors import safe_open

    with safe_open(str(weights[0]), framework="pt") as handle:
        assert str(handle.get_slice(next(iter(handle.keys()))).get_dtype()) in {"F16", "I64"}


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_card_numbers_come_from_metrics(name):
    folder = _dir(name)
    metrics = json.loads((folder / "metrics.json").read_text())
    card = ModelCard.load(folder / "README.md")
    assert card.data.pipeline_tag == registry.get_entry(name).task
    assert "London faces" in card.text and "CC BY 4.0" in card.text
    if metrics.get("fid") is not None:
        fid = next(r.metric_value for r in card.data.eval_results if r.metric_type == "fid")
        assert fid == metrics["fid"]


@pytest.fixture(scope="module")
def real_train_features():
    """Inception features of the training split the bundled models were scored against."""
    from training.evaluate import load_config
    from training.data import load_data
    from training.generator_metrics import real_feature_cache_path
    from training.metrics import RealFeatureCache

    cfg = load_config(_dir("faces-style-64"), {"data_dir": str(DATA), "cache_dir": str(ROOT / ".pytest-cache-data")})
    data = load_data(cfg)
    return RealFeatureCache.load_or_compute(real_feature_cache_path(data), data.train_images_float())


@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} (the London faces data) is not present")
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_kid_recomputed_matches_the_card(name, real_train_features):
    """Recompute KID on 256 fresh samples (KID is unbiased, so n=256 estimates the card's n=1000 value)."""
    import torch

    from training.data import load_data
    from training.evaluate import load_config
    from training.families import get_family
    from training.metrics import compute_fid_kid

    folder = _dir(name)
    metrics = json.loads((folder / "metrics.json").read_text())
    cfg = load_config(folder, {"data_dir": str(DATA), "cache_dir": str(ROOT / ".pytest-cache-data")})
    data = load_data(cfg)
    generator = registry.load_pipeline(name).generator.eval()
    generate = get_family(cfg.family).fid_generate_fn(generator, data, torch.device("cpu"))
    scores = compute_fid_kid(generate, real_train_features, num_generated=256, seed=1, progress=False)
    assert scores["kid_mean"] == pytest.approx(metrics["kid_mean"], abs=max(0.015, 0.2 * metrics["kid_mean"]))


@pytest.mark.parametrize("name", ["faces-projected-64", "faces-fastgan-64", "faces-expression-64", "faces-style-64"])
def test_face_models_beat_initialisation_and_an_early_checkpoint(name):
    history = {h["label"]: h for h in json.loads((_dir(name) / "metrics.json").read_text())["history"]}
    final = history.pop("final")
    earlier = [h for label, h in history.items() if label.startswith("step")]
    assert earlier, "the card compares the final weights with at least one earlier checkpoint"
    assert all(final["fid"] < h["fid"] for h in earlier)
    assert final["fid"] < history["initialisation"]["fid"]


def test_sketch_to_photo_beats_the_mean_face_baseline():
    metrics = json.loads((_dir("sketch2face-64") / "metrics.json").read_text())
    assert metrics["paired_split"] == "heldout"
    assert metrics["l1"] < 0.8 * metrics["baseline_l1"]


@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} (the London faces data) is not present")
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_recipe_still_runs(name, tmp_path):
    """The exact config each bundled model was trained with, for two steps (so the recipe cannot rot)."""
    cfg = load_config(ROOT / "training" / "configs" / f"{name}.yaml", [
        "--data_dir", str(DATA), "--output_dir", str(tmp_path / name), "--max_steps", "2",
        "--batch_size", "8", "--compute_metrics", "false", "--model_card", "false", "--sample_steps", "1",
        "--log_with", "none",
    ])
    assert Trainer(cfg, command="pytest").run() == 0
    assert (tmp_path / name / "model_index.json").is_file()


def _script(name: str):
    """``scripts/<name>.py`` as a module (the scripts folder is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_outputs_are_bit_identical_to_the_pinned_digests(name):
    """Code changes must not change what a bundled model draws (only retraining may, with a re-pin)."""
    _dir(name)
    pin = _script("pin_bundled_outputs")
    pinned = json.loads(pin.OUT.read_text())
    assert pin.digest(name) == pinned[name], f"{name} draws different pixels; re-pin only if its weights changed"


def test_readme_model_tables_are_what_the_script_prints(capsys):
    """The README's model tables are pasted output of scripts/model_table.py, never edited by hand."""
    script = _script("model_table")
    script.main()
    printed = capsys.readouterr().out.strip()
    readme = (ROOT / "README.md").read_text()
    begin = readme.index("<!-- BEGIN MODEL TABLE (python scripts/model_table.py) -->")
    end = readme.index("<!-- END MODEL TABLE -->")
    assert readme[begin:end].split("-->", 1)[1].strip() == printed


def test_bars_table_checks_the_worse_wording_and_never_invents_a_number():
    script = _script("model_table")
    follows = {"template_wording": {"accuracy": {"expression": 0.8}}, "unseen_wording": {"accuracy": {"expression": 0.7}}}
    metrics = {"evaluation": {"vs_train": {"kid": 0.02}, "faithfulness": follows}}
    assert script._measured("expression accuracy", metrics) == (0.7, "0.80 / 0.70 (template / unseen wording)")
    assert script._measured("KID", metrics) == (0.02, "0.020")
    assert script._measured("gender accuracy", metrics) == (None, "-")  # not measured: no verdict
    assert script._measured("landmark drawing precision", metrics) == (None, "-")
    assert script._follows(metrics).endswith("(template / unseen wording)")
    follows["ethnicity"] = {"accuracy": {"ethnicity": 0.625}}
    assert script._follows(metrics).endswith("(template / unseen wording), ethnicity 0.62 (white / not white)")
    assert script._kind({"task": "unconditional-image-generation", "class_names": ["a", "b"]}) == "class-conditional"
    assert script._kind({"task": "unconditional-image-generation"}) == "unconditional"


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_card_python_snippet_runs(name, tmp_path, monkeypatch):
    """The card's GAN Zoo usage code runs as written (the class-conditional model's names its class)."""
    import re

    card = (_dir(name) / "README.md").read_text()
    snippet = next(code for code in re.findall(r"```python\n(.*?)```", card, flags=re.DOTALL) if "zoo." in code)
    drawing = ROOT / "ui" / "examples" / "drawing_003.png"
    code = snippet.replace('"out.png"', repr(str(tmp_path / "out.png"))).replace('"sketch.png"', repr(str(drawing)))
    monkeypatch.chdir(ROOT)  # the card names the bundled folder relative to the repository
    exec(compile(code, f"{name} card", "exec"), {})
    assert (tmp_path / "out.png").is_file()
