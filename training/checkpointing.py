"""Checkpoint folders (``checkpoints/checkpoint-<step>``) and the run-progress object saved in them.

Accelerate's ``save_state`` writes models (safetensors), optimisers, scaler and RNG states;
:class:`TrainingProgress` is registered with ``register_for_checkpointing`` so the step counter,
accumulated wall time and loss/metric histories come back on resume too.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")


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


def resolve_resume(output_dir: Path, resume: Optional[str]) -> Optional[Path]:
    """``'latest'`` -> newest checkpoint (or ``None`` when there is none); a path -> that folder."""
    if resume is None:
        return None
    if resume == "latest":
        found = list_checkpoints(output_dir)
        return found[-1][1] if found else None
    path = Path(resume)
    if not path.is_dir():
        raise ValueError(f"resume_from_checkpoint {resume!r} is not a directory")
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
