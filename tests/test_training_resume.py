"""Exact resume: 2N steps == N steps + resume(latest) + N steps, for every family."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.config import build_config
from training.loop import Trainer
from training.synthetic import make_imagefolder

N = 3
SMALL_PROJECTED = {"head_channels": 8, "projection_channels": [8, 8, 16, 16]}
FAMILY_ARGS = {
    # Each family's own sources of randomness and state are switched on: class labels, lazy R1,
    # StyleGAN's w_avg and noise inputs, pix2pix dropout, textgan CA noise and mismatched captions.
    "dcgan": {"family": "dcgan", "label_column": "expression", "class_head": "ac", "r1_gamma": 1.0, "r1_interval": 2},
    "stylegan": {"family": "stylegan", "r1_gamma": 1.0, "r1_interval": 2, "style_mixing_prob": 0.5},
    "pix2pix": {"family": "pix2pix", "sketch_source": "xdog"},
    "textgan": {"family": "textgan", "caption_template": "a {expression} {gender_noun}"},
    # The few-shot recipe: frozen-feature D with projection conditioning, mode-seeking term.
    "dcgan-projected": {"family": "dcgan", "discriminator": "projected", "label_column": "expression", "lambda_ms": 0.1,
                        "discriminator_kwargs": SMALL_PROJECTED},
    "pix2pix-projected": {"family": "pix2pix", "sketch_source": "xdog", "discriminator": "projected",
                          "discriminator_kwargs": SMALL_PROJECTED},
    "textgan-projected": {"family": "textgan", "caption_template": "a {expression} {gender_noun}",
                          "discriminator": "projected", "discriminator_kwargs": SMALL_PROJECTED, "lambda_ms": 0.1},
    "textgan-projected-ac": {"family": "textgan", "caption_template": "a {expression} {gender_noun}",
                             "discriminator": "projected", "discriminator_kwargs": SMALL_PROJECTED, "lambda_ms": 0.1,
                             "label_column": "gender", "class_head": "ac"},
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("data"), num_images=10, size=36)


def trainer(folder: Path, out: Path, cache: Path, max_steps: int, resume: bool, **values) -> Trainer:
    base = {"data_dir": str(folder), "cache_dir": str(cache), "output_dir": str(out), "tiny": True}
    overrides = {"compute_metrics": False, "max_steps": max_steps, "batch_size": 3, "gradient_accumulation_steps": 2,
                 "checkpointing_steps": 2, "sample_steps": 0, **values}
    if resume:
        overrides["resume_from_checkpoint"] = "latest"
    t = Trainer(build_config(base, overrides), command="pytest")
    assert t.run() == 0
    return t


def assert_same_state(a: Trainer, b: Trainer) -> None:
    for name in ("G_raw", "D_raw", "ema_raw"):
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        assert sa.keys() == sb.keys()
        different = [k for k in sa if not torch.equal(sa[k], sb[k])]
        assert not different, f"{name} differs in {different[:5]}"
    for name in ("opt_g", "opt_d"):
        oa, ob = getattr(a, name).state_dict()["state"], getattr(b, name).state_dict()["state"]
        assert oa.keys() == ob.keys()
        for key in oa:
            for field, value in oa[key].items():
                assert torch.equal(value, ob[key][field]), f"{name} state {key}.{field} differs"
    assert a.progress.step == b.progress.step == 2 * N
    # The interrupted run also logged its last step (3); otherwise the loss history carries over.
    assert {r["step"] for r in a.progress.loss_history} <= {r["step"] for r in b.progress.loss_history}


@pytest.mark.parametrize("case", list(FAMILY_ARGS))
def test_resume_is_exact(case, folder, tmp_path):
    cache = tmp_path / "cache"
    args = FAMILY_ARGS[case]
    straight = trainer(folder, tmp_path / "straight", cache, 2 * N, False, **args)
    first = trainer(folder, tmp_path / "resumed", cache, N, False, **args)
    assert first.progress.step == N
    resumed = trainer(folder, tmp_path / "resumed", cache, 2 * N, True, **args)
    assert resumed.resumed_from == tmp_path / "resumed" / "checkpoints" / f"checkpoint-{N}"
    assert_same_state(straight, resumed)
    # A step that really trains changes the weights, so the equality above is not vacuous.
    assert any(not torch.equal(p, q) for p, q in zip(first.G_raw.state_dict().values(), resumed.G_raw.state_dict().values()))


def test_resume_latest_without_checkpoints_starts_fresh(folder, tmp_path):
    t = trainer(folder, tmp_path / "fresh", tmp_path / "cache", 2, True)
    assert t.resumed_from is None and t.progress.step == 2
