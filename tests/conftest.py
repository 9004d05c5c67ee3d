"""Shared test setup: offline, quiet, deterministic."""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny trained run directory and its image folder, trained once per test module (a few
    seconds), for tests of what reads a run: the evaluation, the benches."""
    from training.config import build_config
    from training.loop import Trainer
    from training.synthetic import make_imagefolder

    root = tmp_path_factory.mktemp("eval")
    folder = make_imagefolder(root / "data", num_images=12, size=40)
    cfg = build_config(
        {"data_dir": str(folder), "cache_dir": str(root / "cache"), "output_dir": str(root / "run"), "tiny": True},
        {"compute_metrics": False, "batch_size": 4, "split_key": "face_id", "heldout_fraction": 0.34},
    )
    assert Trainer(cfg, command="pytest").run() == 0
    return root / "run", folder
