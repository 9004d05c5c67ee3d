"""Checkpoint folders (``checkpoints/checkpoint-<step>``) and the run-progress object saved in them.

Accelerate's ``save_state`` writes models (safetensors), optimisers, scaler and RNG states;
:class:`TrainingProgress` is registered with ``register_for_checkpointing`` so the step counter,
accumulated wall time and loss/metric histories come back on resume too.

A run can be killed at any instant (OOM killer, pre-empted machine), including halfway through
``save_state``. So a checkpoint is written under a temporary name that the checkpoint pattern
does not match, gets a manifest of its files and sizes, and only then is renamed into place;
``resume_from_checkpoint latest`` takes the newest folder whose manifest checks out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
PARTIAL_PREFIX = ".partial-"
MANIFEST = "checkpoint_manifest.json"
#: What save_state writes for one process in every run of this trainer (checkpoints older than the manifest).
LEGACY_REQUIRED = ("model.safetensors", "optimizer.bin", "custom_checkpoint_0.pkl", "random_states_0.pkl")


@dataclass
class TrainingProgress:
    """Plain data about the run so far; its ``state_dict`` holds only ints, floats and a JSON string."""

    step: int = 0
    wall_time_seconds: float = 0.0
    loss_history: list[dict[str, Any]] = field(default_factory=list)
    metrics_history: list[dict[str, Any]] = field(default_factory=list)

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": int(self.step),
            "wall_time_seconds": float(self.wall_time_seconds),
            "histories": json.dumps({"loss": self.loss_history, "metrics": self.metrics_history}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.wall_time_seconds = float(state["wall_time_seconds"])
        histories = json.loads(state["histories"])
        self.loss_history = list(histories["loss"])
        self.metrics_history = list(histories["metrics"])


def checkpoints_dir(output_dir: Path) -> Path:
    return Path(output_dir) / "checkpoints"


def list_checkpoints(output_dir: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every checkpoint folder, oldest first."""
    root = checkpoints_dir(output_dir)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := CHECKPOINT_PATTERN.match(p.name))]
    return sorted(found)


def checkpoint_path(output_dir: Path, step: int) -> Path:
    return checkpoints_dir(output_dir) / f"checkpoint-{step}"


def partial_path(output_dir: Path, step: int) -> Path:
    """Where a checkpoint is written before it is complete (ignored by :func:`list_checkpoints`)."""
    return checkpoints_dir(output_dir) / f"{PARTIAL_PREFIX}checkpoint-{step}"


def write_manifest(folder: Path) -> None:
    """Record every file's size, so a folder truncated or emptied later is recognised as incomplete."""
    files = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps({"files": files}, indent=1) + "\n")


def finalize_checkpoint(partial: Path, final: Path) -> None:
    """Give a fully written checkpoint its real name (atomic on one filesystem)."""
    write_manifest(partial)
    if final.exists():  # a save at a step that already has a checkpoint replaces it
        shutil.rmtree(final)
    os.replace(partial, final)


def remove_partials(output_dir: Path) -> list[Path]:
    """Delete what killed saves left behind; returns the deleted folders."""
    root = checkpoints_dir(output_dir)
    doomed = sorted(root.glob(f"{PARTIAL_PREFIX}*")) if root.is_dir() else []
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def incomplete_reason(folder: Path) -> Optional[str]:
    """Why ``folder`` cannot be resumed from, or ``None`` when it is a complete checkpoint."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text())["files"]
        except (ValueError, KeyError, TypeError) as err:
            return f"unreadable {MANIFEST}: {err}"
        for name, size in files.items():
            path = folder / name
            if not path.is_file():
                return f"{name} is missing"
            if path.stat().st_size != size:
                return f"{name} has {path.stat().st_size} bytes, {size} were written"
        return None
    # Written before manifests existed: the files every save holds, and weights whose header parses.
    missing = [name for name in LEGACY_REQUIRED if not (folder / name).is_file()]
    if missing:
        return f"{', '.join(missing)} missing"
    from safetensors import safe_open

    for path in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt") as handle:
                handle.keys()
        except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
            return f"{path.name} is unreadable: {err}"
    return None


def resolve_resume(
    output_dir: Path, resume: Optional[str], log: Callable[[str], None] = lambda message: None
) -> Optional[Path]:
    """``'latest'`` -> newest complete checkpoint (or ``None``); a path -> that folder if complete.

    Incomplete folders under 'latest' are skipped with a log line rather than failing, because a kill
    during a save is exactly when people resume.
    """
    if resume is None:
        return None
    if resume == "latest":
        for _, path in reversed(list_checkpoints(output_dir)):
            reason = incomplete_reason(path)
            if reason is None:
                return path
            log(f"skipping incomplete checkpoint {path} ({reason})")
        return None
    path = Path(resume)
    if not path.is_dir():
        raise ValueError(f"resume_from_checkpoint {resume!r} is not a directory")
    reason = incomplete_reason(path)
    if reason is not None:
        raise ValueError(f"resume_from_checkpoint {resume!r} is not a complete checkpoint: {reason}")
    return path


def prune_checkpoints(output_dir: Path, keep: Optional[int]) -> list[Path]:
    """Delete the oldest checkpoints so that at most ``keep`` remain; returns what was deleted."""
    if keep is None:
        return []
    found = list_checkpoints(output_dir)
    doomed = [p for _, p in found[: max(0, len(found) - keep)]]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed
