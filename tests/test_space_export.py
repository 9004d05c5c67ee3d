"""scripts/space_export.py writes a self-contained Space folder whose header Spaces can read."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import SpaceCard

from zoo.hub import CARD_PATTERNS, PICKLE_PATTERNS, WEIGHT_PATTERNS

ROOT = Path(__file__).resolve().parents[1]


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


space_export = load_module(ROOT / "scripts" / "space_export.py", "space_export")


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("space") / "gan-zoo"
    assert space_export.main([str(out), "--model", "someone/faces-dcgan-128", "--model", "org/sketch.v2@v1.0"]) == 0
    return out


def test_header_lists_and_preloads_the_models(space):
    card = SpaceCard.load(space / "README.md")
    data = card.data.to_dict()
    assert (data["sdk"], data["app_file"]) == ("gradio", "app.py")
    assert data["sdk_version"] == SpaceCard.load(ROOT / "README.md").data.sdk_version
    assert data["models"] == ["someone/faces-dcgan-128", "org/sketch.v2"]
    files = ",".join(WEIGHT_PATTERNS + CARD_PATTERNS)
    assert "*.safetensors" in files and "README.md" in files and not any(p in files for p in PICKLE_PATTERNS)
    assert data["preload_from_hub"] == [
        f"someone/faces-dcgan-128 {files}",
        f"org/sketch.v2 {files} v1.0",  # pinned: preloaded at the revision the app will load
    ]
    assert "CC BY 4.0" in card.text and "London faces" in card.text


def test_folder_holds_the_app_and_bundled_weights_but_no_test_tools(space):
    names = {p.relative_to(space).as_posix() for p in space.rglob("*") if p.is_file()}
    assert {"app.py", "ui/app.py", "zoo/registry.py", "requirements.txt", "README.md", "models.txt"} <= names
    for bundled in ("faces-projected-64", "faces-fastgan-64", "faces-style-64", "sketch2face-64", "text2face-64"):
        assert f"zoo/pretrained/{bundled}/generator/diffusion_pytorch_model.safetensors" in names
    assert not any(n.startswith(("tests/", "training/", "bench/")) or "__pycache__" in n for n in names)
    requirements = (space / "requirements.txt").read_text()
    assert "torch==2.13.0" in requirements and "gradio==" in requirements
    assert not any(tool in requirements for tool in ("pytest", "hypothesis", "playwright"))


def test_exported_app_imports_on_its_own_and_reads_models_txt(space):
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    code = "import app, ui, zoo; from zoo import registry; print(registry.extra_models(models_file=app.MODELS_FILE)); print(zoo.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=space, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed, zoo_file = proc.stdout.strip().splitlines()[-2:]
    assert listed == "['someone/faces-dcgan-128', 'org/sketch.v2@v1.0']"
    assert Path(zoo_file).resolve().is_relative_to(space.resolve())  # the copy, not the repo


def test_extra_models_one_syntax_for_file_env_and_flags(tmp_path):
    """models.txt, $GAN_ZOO_MODELS and --model flags: commas, spaces or lines, # comments, each id once."""
    from zoo import registry

    path = tmp_path / "models.txt"
    path.write_text("# extra models\nsomeone/a\n\n  org/b  # the sketch model\norg/c, org/d\n")
    env = {"GAN_ZOO_MODELS": "org/e,org/a  org/f"}
    assert registry.extra_models(["org/g", "org/b,org/h"], path, env) == [
        "someone/a", "org/b", "org/c", "org/d", "org/e", "org/a", "org/f", "org/g", "org/h"]
    assert registry.extra_models(models_file=tmp_path / "absent.txt", environ={}) == []


def test_no_bundled_leaves_the_weights_out(tmp_path):
    out = tmp_path / "space"
    space_export.main([str(out), "--model", "someone/faces", "--no-bundled"])
    assert not (out / "zoo" / "pretrained").exists()
    assert (out / "zoo" / "registry.py").is_file()


@pytest.mark.parametrize("argv,message", [
    (["--model", "not a repo"], "org/name"),
    (["--model", "https://huggingface.co/org/name"], "org/name"),
    (["--model", "org/name@"], "org/name@revision"),
])
def test_bad_model_ids_are_refused(tmp_path, argv, message):
    with pytest.raises(SystemExit, match=message):
        space_export.main([str(tmp_path / "space"), *argv])


def test_refuses_a_non_empty_folder_without_force(tmp_path):
    out = tmp_path / "space"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not empty"):
        space_export.main([str(out)])
    assert (out / "keep.txt").read_text() == "mine"
    assert space_export.main([str(out), "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "app.py").is_file()
    assert not (out / "models.txt").exists()


def test_no_bundled_without_models_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        space_export.main([str(tmp_path / "space"), "--no-bundled"])
    assert "needs at least one --model" in capsys.readouterr().err
