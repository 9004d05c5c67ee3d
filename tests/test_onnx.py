"""ONNX export of every generator family: dynamic batch, and the same pixels as PyTorch (1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tiny import tiny_generator
from zoo.onnx_export import example_inputs, export_onnx, graph_of, run_onnx

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize(
    "family,num_classes",
    [("dcgan", 0), ("dcgan", 3), ("stylegan", 0), ("fastgan", 0), ("fastgan", 3), ("pix2pix", 0), ("textgan", 0), ("textgan-style", 0)],
)
def test_onnx_matches_pytorch_on_16_seeds(tmp_path, family, num_classes):
    generator = tiny_generator(family, num_classes=num_classes)
    path = export_onnx(generator, tmp_path / f"{family}.onnx")
    assert generator.training is False  # export leaves the model as it found it
    inputs = example_inputs(generator, list(range(16)), truncation_psi=0.7, class_label=num_classes - 1 if num_classes else None)
    with torch.no_grad():
        expected = graph_of(generator)(*(torch.from_numpy(v) for v in inputs.values())).numpy()
    got = run_onnx(path, inputs)
    assert got.shape == expected.shape and got.shape[0] == 16  # exported with batch 2, run with 16
    assert float(np.abs(got - expected).max()) <= 1e-4
    assert expected.std() > 0.01  # not a constant image
    one = run_onnx(path, {k: v[:1] for k, v in inputs.items()})  # and with batch 1
    assert float(np.abs(one - expected[:1]).max()) <= 1e-4


@pytest.mark.parametrize("family,num_classes", [("stylegan", 0), ("dcgan", 3)])
def test_the_app_onnx_backend_draws_the_torch_faces(tmp_path, monkeypatch, family, num_classes):
    """``app.py --backend onnx``: same gallery and grid as PyTorch (to one 8-bit level), exported once."""
    from PIL import Image

    from tiny import save_tiny_checkpoint
    from ui.catalog import build_catalog
    from ui.tabs import noise
    from ui.widgets import ALL_CLASSES

    monkeypatch.setenv("GAN_ZOO_ONNX_CACHE", str(tmp_path / "onnx"))
    key = str(save_tiny_checkpoint(family, tmp_path / "model", num_classes=num_classes))
    klass = ALL_CLASSES if num_classes else None

    def faces(backend: str) -> list[np.ndarray]:
        catalog = build_catalog([key], include_bundled=False)
        catalog.backend = backend
        gallery, grid = noise.generate_faces(catalog, key, 5, 3, 0.7, klass, progress=lambda *a, **k: None)
        return [np.asarray(Image.open(path), dtype=int) for path, _ in gallery] + [np.asarray(Image.open(grid), dtype=int)]

    torch_faces, onnx_faces = faces("torch"), faces("onnx")
    assert len(onnx_faces) == 3 * max(num_classes, 1) + 1
    assert all(a.shape == b.shape and np.abs(a - b).max() <= 1 for a, b in zip(torch_faces, onnx_faces))
    exported = list((tmp_path / "onnx").iterdir())  # one folder per model version, no scratch left
    assert len(exported) == 1 and (exported[0] / "model.onnx").is_file()
    before = (exported[0] / "model.onnx").stat().st_mtime_ns
    faces("onnx")  # a second request (or app start) reuses the graph
    from zoo.onnx_export import cached_export
    from zoo.pipelines import GANSamplingPipeline

    fresh = GANSamplingPipeline.from_pretrained(key).generator  # another object, same weights: found by digest
    assert cached_export(fresh) == exported[0] / "model.onnx"
    assert [(p / "model.onnx").stat().st_mtime_ns for p in (tmp_path / "onnx").iterdir()] == [before]
