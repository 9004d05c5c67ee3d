"""The trainer as a program: 2-process CPU launch, SIGTERM -> checkpoint, the London faces config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.config import build_config
from training.loop import Trainer
from training.synthetic import make_imagefolder

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT / "data" / "london_faces"
BIN = Path(sys.executable).parent


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("data"), num_images=12, size=36)


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_two_process_cpu_run_writes_one_set_of_files(folder, tmp_path):
    out = tmp_path / "run"
    cmd = [
        str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "training/train.py",
        "--data_dir", str(folder), "--cache_dir", str(tmp_path / "cache"), "--output_dir", str(out),
        "--tiny", "true", "--compute_metrics", "false", "--batch_size", "3",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("[train] done") == 1  # only the main process reports (and writes)
    checkpoint = {
        "model.safetensors", "model_1.safetensors", "model_2.safetensors", "optimizer.bin", "optimizer_1.bin",
        "custom_checkpoint_0.pkl", "random_states_0.pkl", "random_states_1.pkl", "checkpoint_manifest.json",
    }
    expected = {
        "model_index.json", "generator/config.json", "generator/diffusion_pytorch_model.safetensors",
        "training_config.yaml", "training_summary.json", "metrics.json", "samples/final_grid.png",
        "samples/progress.gif", "samples/loss_curves.png", "samples/grid_step_000002.png",
        "samples/grid_step_000004.png",
    } | {f"checkpoints/checkpoint-{s}/{name}" for s in (2, 4) for name in checkpoint}
    assert files_under(out) == expected
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["num_processes"] == 2 and summary["command"].startswith("accelerate launch --multi_gpu --num_processes 2")
    assert "2 process(es)" in summary["hardware"]


def test_sigterm_writes_a_loadable_checkpoint_and_exits_143(folder, tmp_path):
    out = tmp_path / "run"
    cache = tmp_path / "cache"
    cmd = [
        sys.executable, "training/train.py", "--data_dir", str(folder), "--cache_dir", str(cache),
        "--output_dir", str(out), "--tiny", "true", "--compute_metrics", "false", "--max_steps", "100000",
        "--checkpointing_steps", "0", "--sample_steps", "1",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "samples" / "grid_step_000002.png").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "training did not start"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, output[-3000:]
    checkpoints = sorted((out / "checkpoints").iterdir())
    assert len(checkpoints) == 1 and "stopped by signal 15" in output
    step = int(checkpoints[0].name.split("-")[1])
    assert step >= 2

    cfg = build_config(
        {"data_dir": str(folder), "cache_dir": str(cache), "output_dir": str(out), "tiny": True},
        {"compute_metrics": False, "max_steps": step + 1, "resume_from_checkpoint": "latest"},
    )
    resumed = Trainer(cfg, command="pytest")
    assert resumed.run() == 0
    assert resumed.resumed_from == checkpoints[0] and resumed.progress.step == step + 1


def test_cli_rejects_a_bad_key_before_doing_anything(tmp_path):
    proc = subprocess.run(
        [sys.executable, "training/train.py", "--config", "training/configs/faces-dcgan-64.yaml",
         "--data_dir", str(tmp_path), "--learning_rate", "0.1"],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown config key 'learning_rate'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(not (LONDON / "metadata.csv").is_file(), reason="London faces not present")
def test_london_faces_sketch2face_config_end_to_end(tmp_path):
    out = tmp_path / "sketch2face"
    proc = subprocess.run(
        [sys.executable, "training/train.py", "--config", "training/configs/sketch2face-64.yaml",
         "--data_dir", "data/london_faces", "--tiny", "true", "--compute_metrics", "false",
         "--output_dir", str(out), "--cache_dir", str(tmp_path / "cache")],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["task"] == "image-to-image" and summary["dataset"]["license"] == "CC BY 4.0"
    assert summary["dataset"]["num_images"] == 64 and summary["dataset"]["heldout_size"] > 0
    assert "--data_dir data/london_faces" in summary["command"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["l1"] is not None and metrics["baseline_l1"] is not None


def _plain_folder(root: Path, n: int = 10) -> Path:
    """Images and nothing else: no metadata.csv, so no face_id/expression/caption columns."""
    from PIL import Image

    root.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (40, 40), (20 * i, 100, 255 - 20 * i)).save(root / f"img_{i:02d}.png")
    return root


def test_a_plain_folder_of_images_trains_with_the_shipped_config(tmp_path):
    """README's command on a folder without metadata: held out by file, with a one-line notice."""
    data, out = _plain_folder(tmp_path / "photos"), tmp_path / "out"
    proc = subprocess.run(
        [str(BIN / "accelerate"), "launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
         "--dynamo_backend", "no", "training/train.py", "--config", "training/configs/faces-projected-64.yaml",
         "--data_dir", str(data), "--tiny", "true", "--max_steps", "2", "--batch_size", "4",
         "--compute_metrics", "false", "--output_dir", str(out), "--cache_dir", str(tmp_path / "cache")],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "split_key 'face_id' is not a column of 'photos'" in proc.stdout and "holding out images by file" in proc.stdout
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["dataset"]["num_images"] == 10 and summary["dataset"]["heldout_size"] >= 1


def test_data_that_does_not_fit_the_config_is_one_line_and_exit_2(tmp_path):
    data = _plain_folder(tmp_path / "photos")
    proc = subprocess.run(
        [sys.executable, "training/train.py", "--config", "training/configs/faces-expression-64.yaml",
         "--data_dir", str(data), "--tiny", "true", "--output_dir", str(tmp_path / "out"),
         "--cache_dir", str(tmp_path / "cache")],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: label_column 'expression' not found")
    assert "or null for an unconditional model" in proc.stderr
