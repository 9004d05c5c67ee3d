"""The ``loopback_hub`` fixture: a private Hub on 127.0.0.1 that the real ``huggingface_hub`` client talks to.

Setting ``HF_ENDPOINT`` & co. is not enough on its own: ``huggingface_hub.constants`` reads them once,
at import, and the module-level helpers (``model_info``, ``upload_folder``, ...) are bound to an
``HfApi`` built at import too. So the fixture patches the environment (for subprocesses and code
that reads it late) *and* those already-computed constants, and monkeypatch undoes both afterwards.
Import it from a conftest or a test module: ``from conftest_hub import loopback_hub``.

``datasets`` does the same (endpoint, offline mode and cache paths are read once, in
``datasets.config``): when it is already imported its constants are patched too, so a test that
loads a Hub dataset should import ``datasets`` at module level, before the fixture runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import save_file
from huggingface_hub import constants, hf_api
from huggingface_hub.utils import _http

from hub_server import DEFAULT_TOKEN, LoopbackHub, Repo
from zoo import families


def _point_cache_at(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Every cache/token location derived from ``HF_HOME`` -> ``home`` (so no real token or cache leaks in)."""
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    for name, value in {
        "HF_HOME": home,
        "HF_HUB_CACHE": home / "hub",
        "HUGGINGFACE_HUB_CACHE": home / "hub",
        "HF_ASSETS_CACHE": home / "assets",
        "HF_XET_CACHE": home / "xet",
        "HF_TOKEN_PATH": home / "token",
        "HF_STORED_TOKENS_PATH": home / "stored_tokens",
        "CHECK_FOR_UPDATE_DONE_PATH": home / ".check_for_update_done",
        "AGENT_HARNESSES_PATH": home / ".agent_harnesses.json",
    }.items():
        monkeypatch.setattr(constants, name, str(value), raising=False)


def point_client_at(monkeypatch: pytest.MonkeyPatch, url: str, home: Path, token: str | None) -> None:
    """Make the in-process client (and any subprocess) use ``url`` as the Hub, online, without Xet or telemetry."""
    url = url.rstrip("/")
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the main conftest turns offline mode on
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    if token is None:
        monkeypatch.delenv("HF_TOKEN", raising=False)
    else:
        monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {"127.0.0.1"})
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(hf_api.api, "endpoint", url)  # the instance behind huggingface_hub.model_info & co.
    _point_cache_at(monkeypatch, home)
    _point_datasets_at(monkeypatch, url, home)


def _point_datasets_at(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    """``datasets.load_dataset`` against ``url``, online, with its caches under ``home``.

    The environment is enough for a ``datasets`` imported later; one imported already has copied it
    into ``datasets.config``, so those copies are patched as well (and restored by monkeypatch)."""
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    # Telemetry, not Hub I/O: load_dataset pings an S3 bucket (not HF_ENDPOINT) to count downloads.
    monkeypatch.setenv("HF_UPDATE_DOWNLOAD_COUNTS", "0")
    config = getattr(sys.modules.get("datasets"), "config", None)
    if config is None:
        return
    for name, value in {
        "HF_ENDPOINT": url,
        "HUB_DATASETS_URL": url + "/datasets/{repo_id}/resolve/{revision}/{path}",
        "HF_HUB_OFFLINE": False,
        "HF_DATASETS_OFFLINE": False,
        "HF_UPDATE_DOWNLOAD_COUNTS": False,
        "HF_CACHE_HOME": str(home),
        "HF_DATASETS_CACHE": home / "datasets",
        "HF_MODULES_CACHE": home / "modules",
        "DOWNLOADED_DATASETS_PATH": home / "datasets" / "downloads",
        "EXTRACTED_DATASETS_PATH": home / "datasets" / "downloads" / "extracted",
    }.items():
        monkeypatch.setattr(config, name, value, raising=False)


class HubHandle:
    """What ``loopback_hub`` yields: the server's state and failure knobs, plus client-side switches."""

    def __init__(self, server: LoopbackHub, monkeypatch: pytest.MonkeyPatch, home: Path):
        self.server = server
        self.home = home
        self.token = DEFAULT_TOKEN
        self._monkeypatch = monkeypatch
        self._homes = 0

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def repos(self) -> dict[str, Repo]:
        """repo id -> :class:`hub_server.Repo` (``.commits`` snapshots, ``.branches``, ``.head(branch)``)."""
        return self.server.repos

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        return self.server.requests

    def fail_next(self, n: int, status: int = 500, match: str | None = None) -> None:
        self.server.fail_next(n, status=status, match=match)

    def stop(self) -> None:
        self.server.stop()
        _http.close_session()

    def set_offline(self, offline: bool = True) -> None:
        """Toggle ``HF_HUB_OFFLINE`` both in the environment and in the constant the client already read."""
        if offline:
            self._monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        else:
            self._monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        self._monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)

    def set_token(self, token: str | None) -> None:
        """``None`` simulates a machine that never logged in (no env token, empty token file location)."""
        if token is None:
            self._monkeypatch.delenv("HF_TOKEN", raising=False)
        else:
            self._monkeypatch.setenv("HF_TOKEN", token)

    def use_fresh_cache(self) -> Path:
        """Switch to a new, empty ``HF_HOME`` (as on a machine that never downloaded anything)."""
        self._homes += 1
        self.home = self.home.parent / f"{self.home.name}-{self._homes}"
        _point_cache_at(self._monkeypatch, self.home)
        _point_datasets_at(self._monkeypatch, self.url, self.home)
        return self.home


@pytest.fixture
def loopback_hub(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubHandle]:
    server = LoopbackHub().start()
    home = tmp_path_factory.mktemp("hf_home")
    point_client_at(monkeypatch, server.url, home, DEFAULT_TOKEN)
    _http.close_session()  # drop any pooled client created under other settings
    try:
        yield HubHandle(server, monkeypatch, home)
    finally:
        server.stop()
        _http.close_session()


#: What the trainer would record for a tiny run; tests override single keys.
FAKE_METRICS: dict[str, Any] = {
    "step": 300, "fid": 87.654321, "kid_mean": 0.0523, "kid_std": 0.0041, "num_generated": 512, "num_real": 64,
    "real_split": "heldout",
    "history": [{"step": 150, "fid": 140.25, "kid_mean": 0.11}, {"step": 300, "fid": 87.654321, "kid_mean": 0.0523}],
}
def write_fake_checkpoint(
    root: Path,
    family: str = "dcgan",
    *,
    metrics: Optional[dict[str, Any]] = FAKE_METRICS,
    images: tuple[str, ...] = ("final_grid.png", "progress.gif", "loss_curves.png"),
    weights: bool = False,
) -> Path:
    """A checkpoint directory as docs/contracts.md describes it, with tiny stand-in files.

    ``metrics=None`` leaves out metrics.json; ``weights=True`` adds a diffusers-style pipeline (a fake
    ``model_index.json``, ``generator/config.json``, a small safetensors file) plus the training state
    (``checkpoints/``, ``logs/``) that must never be published.
    """
    root.mkdir(parents=True, exist_ok=True)
    summary = {
        "family": family, "task": families.family(family).task, "resolution": 32, "steps": 300, "wall_time_seconds": 754.2,
        "hardware": "CPU (2 cores)", "num_processes": 1, "mixed_precision": "no",
        "command": f"accelerate launch -m training.train --config training/configs/{family}-tiny.yaml",
        "dataset": {"name": "tiny-faces", "num_images": 80, "train_size": 64, "heldout_size": 16,
                    "license": "cc-by-4.0", "credit": "Test Photographers Collective"},
        "config": {"family": family, "resolution": 32, "base_channels": 8},
    }
    (root / "training_summary.json").write_text(json.dumps(summary, indent=2))
    (root / "training_config.yaml").write_text(f"family: {family}\nresolution: 32\nbase_channels: 8\nlr: 0.0002\n")
    if metrics is not None:
        (root / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (root / "samples").mkdir(exist_ok=True)
    for name in images:
        Image.new("RGB", (8, 8), (200, 30, 30)).save(root / "samples" / name)
    if weights:
        pipeline = families.task(families.family(family).task).pipeline_class
        model_index = {"_class_name": pipeline, "_diffusers_version": "0.42.1",
                       "generator": ["zoo", families.family(family).generator_class]}
        (root / "model_index.json").write_text(json.dumps(model_index))
        (root / "generator").mkdir(exist_ok=True)
        generator_config = {"_class_name": families.family(family).generator_class, "resolution": 32}
        (root / "generator" / "config.json").write_text(json.dumps(generator_config))
        save_file({"weight": np.arange(64, dtype=np.float32).reshape(8, 8)},
                  str(root / "generator" / "diffusion_pytorch_model.safetensors"))
        (root / "checkpoints" / "checkpoint-300").mkdir(parents=True, exist_ok=True)
        (root / "checkpoints" / "checkpoint-300" / "optimizer.bin").write_bytes(b"pickled optimizer state")
        (root / "logs").mkdir(exist_ok=True)
        (root / "logs" / "events.out").write_bytes(b"tracker log")
    return root


__all__ = ["FAKE_METRICS", "HubHandle", "loopback_hub", "point_client_at", "write_fake_checkpoint"]
