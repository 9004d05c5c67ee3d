"""The trainer under faults a long CPU/GPU run meets: a hard kill mid-run, and an output dir it cannot write.

* SIGKILL (an OOM kill, a pre-empted spot instance, a closed laptop) gives the trainer no chance
  to checkpoint. ``--resume_from_checkpoint latest`` must then continue from the newest checkpoint,
  losing at most one checkpoint interval, and finish the run. The kill lands at a seeded random
  step after the first checkpoint, so a failure can be replayed.
* A kill during ``save_state`` leaves a half-written ``checkpoint-<step>`` folder. Resuming must
  not trip over it; three kinds of half-written folder are built deterministically here.
* An output dir that cannot be created or written (read-only, a path under a regular file, a
  full or read-only filesystem) must stop the run with exit code 2 and a clear message *before*
  any training step, not with a traceback after minutes of data decoding or training.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors import safe_open

from training.checkpointing import list_checkpoints, partial_path, resolve_resume
from training.config import build_config
from training.loop import Trainer
from training.synthetic import make_imagefolder

ROOT = Path(__file__).resolve().parents[1]
#: Every file accelerate's save_state writes for one process with G, D, EMA, two optimisers and the progress object.
CHECKPOINT_FILES = {
    "model.safetensors", "model_1.safetensors", "model_2.safetensors", "optimizer.bin", "optimizer_1.bin",
    "custom_checkpoint_0.pkl", "random_states_0.pkl",
}
INTERVAL = 2  # checkpointing_steps
MAX_STEPS = 600  # a tiny step takes ~10-20 ms with a checkpoint every 2 steps: ~10 s of training
KILL_SEED = 20240611
PROGRESS = re.compile(r"(\d+)/(\d+) \[")


def env() -> dict[str, str]:
    # TQDM_MININTERVAL=0: the progress bar prints every step, so the log shows the step reached at the kill.
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
            "TQDM_MININTERVAL": "0"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("data"), num_images=12, size=36)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def train_cmd(folder: Path, cache: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "training/train.py", "--tiny", "true", "--data_dir", str(folder), "--cache_dir", str(cache),
        "--output_dir", str(out), "--compute_metrics", "false", "--sample_steps", "0", "--progress_bar", "true",
        "--checkpointing_steps", str(INTERVAL), "--max_steps", str(MAX_STEPS), *extra,
    ]


def last_step(log: str) -> int:
    steps = [int(m.group(1)) for m in PROGRESS.finditer(log)]
    return max(steps, default=0)


def is_complete(checkpoint: Path) -> bool:
    """All of save_state's files are there and every safetensors file has a readable header and body."""
    names = {p.name for p in checkpoint.iterdir()}
    if not CHECKPOINT_FILES <= names:
        return False
    try:
        for name in names:
            if name.endswith(".safetensors"):
                with safe_open(str(checkpoint / name), framework="pt") as handle:
                    for key in handle.keys():
                        handle.get_tensor(key)
    except Exception:  # noqa: BLE001 - any unreadable file means the save did not finish
        return False
    return True


# ------------------------------------------------------------------------------------------------
# (a) SIGKILL, then resume
# ------------------------------------------------------------------------------------------------


def test_sigkill_at_a_seeded_random_step_then_resume_finishes(folder, cache, tmp_path):
    rng = random.Random(KILL_SEED)
    target = rng.randrange(10, MAX_STEPS // 2)  # a step after the first checkpoint
    extra_delay = rng.uniform(0.0, 0.03)  # lands anywhere inside a step or a save
    out = tmp_path / "run"
    log_path = tmp_path / "first.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(train_cmd(folder, cache, out), cwd=ROOT, env=env(), stdout=log,
                                stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 150
            while last_step(log_path.read_text(errors="replace")) < target:
                assert proc.poll() is None, f"the run ended before step {target}:\n{log_path.read_text()[-3000:]}"
                assert time.monotonic() < deadline, "training did not reach the kill step in time"
                time.sleep(0.01)
            time.sleep(extra_delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL
    first_log = log_path.read_text(errors="replace")
    found = list_checkpoints(out)
    assert found, "no checkpoint was written before the kill"
    reached = max(last_step(first_log), found[-1][0])
    assert reached >= target and reached < MAX_STEPS
    newest_complete = is_complete(found[-1][1])
    assert newest_complete, f"the kill left a half-written {found[-1][1].name} under its final name"

    resumed = subprocess.run(train_cmd(folder, cache, out, "--resume_from_checkpoint", "latest"), cwd=ROOT,
                             env=env(), capture_output=True, text=True, timeout=240)
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output[-3000:]
    match = re.search(r"resumed from (\S+) at step (\d+)", output)
    assert match, output[-3000:]
    start = int(match.group(2))
    print(f"SIGKILL at step {reached} (target {target}, newest checkpoint {found[-1][1].name}, "
          f"complete={newest_complete}); resumed at step {start}")
    assert reached - INTERVAL <= start <= reached, f"killed at step {reached}, resumed at {start}"
    assert f"[train] done: {MAX_STEPS} steps" in output
    assert (out / "generator" / "diffusion_pytorch_model.safetensors").is_file()
    assert list_checkpoints(out)[-1][0] == MAX_STEPS


# ------------------------------------------------------------------------------------------------
# (a') half-written checkpoints, built deterministically
# ------------------------------------------------------------------------------------------------


def _empty(path: Path) -> None:
    """Killed right after the folder was made."""
    path.mkdir()


def _truncated_weights(path: Path) -> None:
    """Killed while the first safetensors file was being written."""
    for name in sorted(CHECKPOINT_FILES - {"model.safetensors"}):
        (path / name).unlink()
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 3])


def _no_progress_or_rng(path: Path) -> None:
    """Killed after the weights and optimisers but before the progress object and RNG states."""
    (path / "custom_checkpoint_0.pkl").unlink()
    (path / "random_states_0.pkl").unlink()


@pytest.fixture(scope="module")
def finished_run(folder, cache, tmp_path_factory) -> Path:
    """A 4-step tiny run with complete checkpoints at steps 2 and 4."""
    out = tmp_path_factory.mktemp("finished") / "run"
    cfg = build_config({"data_dir": str(folder), "cache_dir": str(cache), "output_dir": str(out), "tiny": True},
                       {"compute_metrics": False, "max_steps": 4, "checkpointing_steps": INTERVAL})
    assert Trainer(cfg, command="pytest").run() == 0
    assert [step for step, _ in list_checkpoints(out)] == [2, 4]
    return out


@pytest.mark.parametrize("damage", [_empty, _truncated_weights, _no_progress_or_rng],
                         ids=["empty-folder", "truncated-weights", "missing-progress-and-rng"])
def test_resume_skips_a_half_written_checkpoint(finished_run, folder, cache, tmp_path, damage):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    half = out / "checkpoints" / "checkpoint-6"
    if damage is not _empty:
        shutil.copytree(out / "checkpoints" / "checkpoint-4", half)
    damage(half)
    assert not is_complete(half)
    cfg = build_config({"data_dir": str(folder), "cache_dir": str(cache), "output_dir": str(out), "tiny": True},
                       {"compute_metrics": False, "max_steps": 8, "resume_from_checkpoint": "latest"})
    trainer = Trainer(cfg, command="pytest")
    assert trainer.run() == 0
    assert trainer.resumed_from == out / "checkpoints" / "checkpoint-4"
    assert trainer.progress.step == 8


def test_explicit_resume_from_a_half_written_checkpoint_names_what_is_missing(finished_run, tmp_path):
    half = tmp_path / "checkpoint-4"
    shutil.copytree(finished_run / "checkpoints" / "checkpoint-4", half)
    (half / "optimizer_1.bin").unlink()
    with pytest.raises(ValueError, match=r"not a complete checkpoint: optimizer_1\.bin is missing"):
        resolve_resume(tmp_path, str(half))


def test_resume_removes_partial_saves_and_never_lists_them(finished_run, folder, cache, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    leftover = partial_path(out, 6)
    shutil.copytree(out / "checkpoints" / "checkpoint-4", leftover)
    assert [step for step, _ in list_checkpoints(out)] == [2, 4]
    cfg = build_config({"data_dir": str(folder), "cache_dir": str(cache), "output_dir": str(out), "tiny": True},
                       {"compute_metrics": False, "max_steps": 6, "resume_from_checkpoint": "latest"})
    trainer = Trainer(cfg, command="pytest")
    assert trainer.run() == 0
    assert trainer.resumed_from == out / "checkpoints" / "checkpoint-4"
    assert not leftover.exists()
    assert [step for step, _ in list_checkpoints(out)] == [2, 4, 6]
    assert is_complete(out / "checkpoints" / "checkpoint-6")


# ------------------------------------------------------------------------------------------------
# (b) an output dir that cannot be written
# ------------------------------------------------------------------------------------------------


def _writes_despite_chmod(directory: Path) -> bool:
    """True when permissions do not stop us (root, or a filesystem that ignores modes)."""
    probe = directory / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


def read_only_output_dir(tmp_path: Path) -> Path:
    """A read-only parent where permissions bite; as root (CI, containers) a path under a regular file."""
    parent = tmp_path / "read_only"
    parent.mkdir()
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)  # 0555
    if not _writes_despite_chmod(parent):
        return parent / "run"
    parent.chmod(0o755)
    blocker = tmp_path / "a_regular_file"
    blocker.write_text("not a directory\n")
    return blocker / "run"  # mkdir fails with ENOTDIR for root too


def uncreatable_output_dir(tmp_path: Path) -> Path:
    """Stands in for a full or read-only filesystem: procfs refuses new directories, even to root."""
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux procfs")
    return Path("/proc") / f"gan_zoo_no_space_{os.getpid()}" / "run"


@pytest.mark.parametrize("make_dir", [read_only_output_dir, uncreatable_output_dir], ids=["read-only", "cannot-create"])
def test_unwritable_output_dir_exits_2_before_training(folder, cache, tmp_path, make_dir):
    out = make_dir(tmp_path)
    try:
        proc = subprocess.run(train_cmd(folder, cache, out), cwd=ROOT, env=env(), capture_output=True, text=True,
                              timeout=120)
    finally:
        for path in tmp_path.iterdir():
            if path.is_dir():
                path.chmod(0o755)  # let pytest clean up
    output = proc.stdout + proc.stderr
    assert last_step(output) == 0, "a training step ran before the output dir was found unusable"
    assert "Traceback" not in output, output[-2000:]
    assert proc.returncode == 2, output[-2000:]
    assert re.search(r"error: .*output_dir", output) and str(out) in output, output[-2000:]
