"""The JSON/YAML files of a checkpoint directory (see docs/contracts.md) and what goes into them."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from training.config import ConfigError, TrainConfig, portable_path, resolved_dict

METRIC_KEYS = ("fid", "kid_mean", "kid_std", "num_generated", "num_real", "precision", "recall", "pr_k", "pr_num_fake", "diversity")


def ensure_writable_dir(output_dir: Path) -> None:
    """Create ``output_dir`` and prove a file can be written there, or raise :class:`ConfigError`.

    A read-only or full disk would otherwise surface as a traceback at the first checkpoint,
    after the data was decoded and minutes were spent training. Every process probes with its
    own file name, so a distributed launch needs no coordination here.
    """
    probe = Path(output_dir) / f".write-probe-{os.getpid()}"
    try:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"\0" * 4096)
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"output_dir {str(output_dir)!r} is not writable: {err.strerror or err}") from err


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, ``platform`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def hardware_string(device: torch.device, num_processes: int) -> str:
    """``"2 x NVIDIA H100 80GB HBM3"`` on GPUs, ``"AMD EPYC (2 x CPU)"`` on CPU."""
    if device.type == "cuda":
        return f"{num_processes} x {torch.cuda.get_device_name(device)}"
    threads = torch.get_num_threads()
    return f"{cpu_model()} ({os.cpu_count()} x CPU, {num_processes} process(es) x {threads} thread(s))"


def command_line(argv: Optional[Sequence[str]] = None) -> str:
    """The command as a user would retype it: ``accelerate launch ...`` when launched by accelerate."""
    argv = list(sys.argv if argv is None else argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if "ACCELERATE_MIXED_PRECISION" in os.environ or world > 1:
        # The launcher's own flags are not visible here; --multi_gpu is what a multi-process run needs
        # (also on CPU, see training/README.md).
        prefix = ["accelerate", "launch"] + (["--multi_gpu", "--num_processes", str(world)] if world > 1 else [])
    else:
        prefix = ["python"]
    return shlex.join(prefix + argv)


def portable_command(command: str) -> str:
    """``command`` with every absolute path in portable form (see :func:`training.config.portable_path`)."""
    try:
        return shlex.join(_portable_arg(arg) for arg in shlex.split(command))
    except ValueError:  # unbalanced quotes: not a command line we can take apart
        return command


def _portable_arg(arg: str) -> str:
    """Absolute paths in the command (``/abs/path`` or ``--flag=/abs/path``) in their portable form."""
    flag, sep, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
    if value.startswith(("/", "~")):
        return f"{flag}{sep}{portable_path(value)}"
    return arg


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def empty_metrics(step: int, real_split: str = "train") -> dict[str, Any]:
    return {"step": step, **{k: None for k in METRIC_KEYS}, "real_split": real_split}


def write_metrics(path: Path, final: dict[str, Any], history: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    data = {"step": final["step"], **{k: final.get(k) for k in METRIC_KEYS}, "real_split": final.get("real_split", "train")}
    data["history"] = [
        {k: h.get(k) for k in ("step", "fid", "kid_mean", "precision", "recall", "diversity") if k == "step" or h.get(k) is not None}
        for h in history
    ]
    data.update(extra)
    write_json(path, data)


def write_summary(
    path: Path,
    cfg: TrainConfig,
    *,
    task: str,
    resolution: int,
    steps: int,
    wall_time_seconds: float,
    hardware: str,
    num_processes: int,
    command: str,
    dataset: dict[str, Any],
    class_names: Optional[list[str]] = None,
) -> None:
    """``class_names`` (class-conditional runs) is what the app shows in its class pickers."""
    write_json(
        path,
        {
            **({"class_names": list(class_names)} if class_names else {}),
            "family": cfg.family,
            "task": task,
            "resolution": resolution,
            "steps": steps,
            "wall_time_seconds": round(wall_time_seconds, 2),
            "hardware": hardware,
            "num_processes": num_processes,
            "mixed_precision": cfg.mixed_precision,
            "command": portable_command(command),
            "dataset": dataset,
            "config": resolved_dict(cfg),
        },
    )

