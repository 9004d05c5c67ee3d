"""Registry resolution and the ``python -m zoo`` CLI, run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import PIL.Image
import pytest

from tiny import RESOLUTION, save_tiny_checkpoint
from zoo import families, registry
from zoo.cli import main
from zoo.pipelines import GANSamplingPipeline, Sketch2PhotoPipeline

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("ckpt")
    return {family: save_tiny_checkpoint(family, base / family) for family in ["dcgan", "stylegan", "pix2pix", "textgan"]}


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(KeyError, match="faces-projected-64"):
        registry.get_entry("no-such-model")
    with pytest.raises(KeyError, match="known models"):
        registry.resolve("not a model")


def test_resolve_directory_and_repo_id(checkpoints):
    assert registry.resolve(str(checkpoints["dcgan"])) == (str(checkpoints["dcgan"]), None)
    assert registry.resolve("org/name") == ("org/name", None)
    assert registry.task_of(checkpoints["pix2pix"]) == "image-to-image"
    assert registry.task_of(checkpoints["textgan"]) == "text-to-image"


def test_registered_defaults_cover_every_task():
    tasks = {entry.task for entry in registry.list_models()}
    assert tasks == set(families.TASKS)


def test_load_pipeline_picks_the_saved_class_and_caches(checkpoints):
    pipe = registry.load_pipeline(str(checkpoints["pix2pix"]))
    assert isinstance(pipe, Sketch2PhotoPipeline)
    assert registry.load_pipeline(str(checkpoints["pix2pix"])) is pipe
    assert isinstance(registry.load_pipeline(str(checkpoints["dcgan"]), GANSamplingPipeline), GANSamplingPipeline)


def test_cli_subcommands_write_files(checkpoints, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", "--model", str(checkpoints["dcgan"]), "--seed", "0", "--num", "4", "--out", str(out)]) == 0
    assert PIL.Image.open(out).size == (2 * RESOLUTION, 2 * RESOLUTION)

    gif = tmp_path / "walk.gif"
    assert main(["interpolate", "--model", str(checkpoints["stylegan"]), "--frames", "4", "--out", str(gif)]) == 0
    assert PIL.Image.open(gif).n_frames == 6
    mp4 = tmp_path / "walk.mp4"
    assert main(["interpolate", "--model", str(checkpoints["dcgan"]), "--frames", "3", "--out", str(mp4)]) == 0
    assert mp4.stat().st_size > 0

    mix = tmp_path / "mix.png"
    assert main(["style-mix", "--model", str(checkpoints["stylegan"]), "--range", "middle", "--out", str(mix)]) == 0
    assert PIL.Image.open(mix).size == (3 * RESOLUTION, RESOLUTION)

    sketch = tmp_path / "sketch.png"
    PIL.Image.new("L", (60, 30), 255).save(sketch)
    img = PIL.Image.open(sketch).convert("RGB")
    img.paste((0, 0, 0), (10, 10, 50, 12))
    img.save(sketch)
    photo = tmp_path / "photo.png"
    assert main(["sketch2photo", "--model", str(checkpoints["pix2pix"]), "--image", str(sketch), "--out", str(photo)]) == 0
    assert PIL.Image.open(photo).size == (60, 30)

    t2i = tmp_path / "t2i.png"
    assert main(["text2image", "--model", str(checkpoints["textgan"]), "--prompt", "a smiling man", "--out", str(t2i)]) == 0
    assert PIL.Image.open(t2i).size == (RESOLUTION, RESOLUTION)


def test_cli_bad_input_gives_an_error_not_a_traceback(checkpoints, tmp_path, capsys):
    assert main(["sample", "--model", "no-such-model", "--out", str(tmp_path / "x.png")]) == 2
    assert "known models" in capsys.readouterr().err
    assert main(["sample", "--model", str(checkpoints["dcgan"]), "--psi", "2", "--out", str(tmp_path / "x.png")]) == 2
    assert "truncation psi" in capsys.readouterr().err
    assert main(["text2image", "--model", str(checkpoints["textgan"]), "--prompt", " ", "--out", str(tmp_path / "x.png")]) == 2
    assert "empty" in capsys.readouterr().err
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    with pytest.raises(SystemExit, match="cannot read"):
        main(["sketch2photo", "--model", str(checkpoints["pix2pix"]), "--image", str(not_image), "--out", str(tmp_path / "y.png")])


def test_python_m_zoo_sample_from_a_shell(checkpoints, tmp_path):
    """The README's smoke command, as a subprocess from the repo root."""
    out = tmp_path / "x.png"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "sample", "--model", str(checkpoints["dcgan"]), "--seed", "0", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert PIL.Image.open(out).size == (RESOLUTION, RESOLUTION)


def test_cli_project_aligns_the_face_unless_no_align(checkpoints, tmp_path, capsys):
    """``project`` inverts the photo framed like the training photos (the app's ``align_face``);
    ``--no-align`` inverts its centre square. Each run says which on stderr."""
    import numpy as np

    from zoo.face_align import align_face, centre_square
    from zoo.pipelines.inversion import square_crop

    face = PIL.Image.open(ROOT / "data" / "london_faces" / "images" / "003_neutral.jpg").convert("RGB")
    upload = PIL.Image.new("RGB", (400, 520), (40, 90, 160))
    upload.paste(face.resize((150, 150)), (20, 330))
    photo = tmp_path / "me.png"
    upload.save(photo)
    for flags, crop, message in [([], align_face(upload).image, "face found and aligned"),
                                 (["--no-align"], centre_square(upload), "alignment off: used the centre square")]:
        out = tmp_path / f"projection{len(flags)}.png"
        assert main(["project", "--model", str(checkpoints["stylegan"]), "--image", str(photo), "--steps", "1",
                     "--out", str(out), *flags]) == 0
        assert message in capsys.readouterr().err
        target = np.asarray(PIL.Image.open(out).convert("RGB"))[:, :RESOLUTION]  # photo | reconstruction
        assert np.array_equal(target, np.asarray(square_crop(crop, RESOLUTION)))


def test_cli_project_export_onnx_and_sample_with_onnx(checkpoints, tmp_path, capsys):
    """Your photo in the zoo, and the ONNX round trip: the onnxruntime grid equals the PyTorch one."""
    import numpy as np

    photo = tmp_path / "me.png"
    PIL.Image.new("RGB", (50, 40), (180, 120, 90)).save(photo)
    stylegan = str(checkpoints["stylegan"])
    assert main(["project", "--model", stylegan, "--image", str(photo), "--steps", "3",
                 "--out", str(tmp_path / "p.png"), "--w-out", str(tmp_path / "w.safetensors")]) == 0
    assert PIL.Image.open(tmp_path / "p.png").size[0] > PIL.Image.open(tmp_path / "p.png").size[1]  # photo | reconstruction
    assert (tmp_path / "w.safetensors").is_file()

    assert main(["export-onnx", "--model", stylegan, "--out", str(tmp_path / "g.onnx")]) == 0
    common = ["sample", "--model", stylegan, "--num", "4", "--psi", "0.7"]
    assert main([*common, "--onnx", str(tmp_path / "g.onnx"), "--out", str(tmp_path / "onnx.png")]) == 0
    assert main([*common, "--out", str(tmp_path / "torch.png")]) == 0
    a, b = (np.asarray(PIL.Image.open(tmp_path / f"{n}.png"), dtype=int) for n in ("onnx", "torch"))
    assert np.abs(a - b).max() <= 1  # the same seeds, the same faces (up to rounding)
