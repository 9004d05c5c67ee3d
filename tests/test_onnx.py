"""ONNX export of every generator family: dynamic batch, and the same pixels as PyTorch (1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tiny import tiny_generator
from zoo.onnx_export import example_inputs, export_onnx, graph_of, run_onnx

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("family,num_classes", [("dcgan", 0), ("dcgan", 3), ("stylegan", 0), ("pix2pix", 0), ("textgan", 0)])
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
