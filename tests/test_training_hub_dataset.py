"""Publish a prepared image folder as a Hub dataset, then train on it by its id (loopback Hub).

The whole path is the real one: ``training.publish_dataset`` uploads through ``huggingface_hub``,
``training/train.py --dataset ID`` reads it back with ``datasets.load_dataset`` (which resolves the
repo, lists its tree, reads the card and ``metadata.csv`` and downloads every image), and the
trainer records the id in ``training_summary.json`` and in the model card's ``datasets:`` metadata.
No request may leave the loopback server: every socket the process opens is recorded.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import datasets  # noqa: F401 - imported before the fixture, which then points datasets.config at the loopback Hub
import pytest
from huggingface_hub import ModelCard

from conftest_hub import HubHandle, loopback_hub  # noqa: F401 (fixture)
from test_publish_dataset import folder  # noqa: F401 (fixture: ten London faces, 5 people x 2 expressions)
from training.publish_dataset import publish_dataset
from training.train import main as train_main

REPO = "someone/london-faces-10"
CONFIG = Path(__file__).resolve().parents[1] / "training" / "configs" / "faces-dcgan-64.yaml"

#: ``(event, host, port)`` for every name this process looked up and every socket it connected while
#: a test records (an audit hook cannot be removed: it is installed once and records only while the
#: list is not None). Threads included, so the trainer's and the client's requests are all seen.
_NETWORK: list | None = None
_NETWORK_LOCK = threading.Lock()


def _audit(event: str, args: tuple) -> None:
    if _NETWORK is None or event not in ("socket.getaddrinfo", "socket.connect"):
        return
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
    else:
        if not isinstance(args[1], tuple):  # AF_UNIX and friends: not the network
            return
        host, port = args[1][:2]
    with _NETWORK_LOCK:
        _NETWORK.append((event, host.decode() if isinstance(host, bytes) else str(host), port))


sys.addaudithook(_audit)


def test_published_folder_trains_by_its_hub_id(loopback_hub: HubHandle, folder: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    global _NETWORK
    publish_dataset(folder, REPO, "cc-by-4.0", pretty_name="London faces (10)")
    published = loopback_hub.repos[f"datasets/{REPO}"].head()
    images = sorted(p for p in published if p.startswith("images/"))
    assert len(images) == 10
    served_before = len(loopback_hub.requests)

    out, cache = tmp_path / "run", tmp_path / "cache"
    # The README's command with the tiny preset: the config's split_key face_id holds out whole people.
    argv = ["--config", str(CONFIG), "--dataset", REPO, "--tiny", "true", "--max_steps", "2", "--batch_size", "4",
            "--compute_metrics", "false", "--model_card", "true", "--output_dir", str(out), "--cache_dir", str(cache)]
    monkeypatch.setattr(sys, "argv", ["training/train.py", *argv])
    _NETWORK = []
    try:
        assert train_main(argv) == 0
    finally:
        network, _NETWORK = _NETWORK, None

    # Every connection went to the loopback server. The only other name looked up is the dataset
    # viewer's, which datasets derives from HF_ENDPOINT (datasets-server.<endpoint host>) and which
    # does not resolve, so load_dataset falls back to reading the repo itself.
    port = int(loopback_hub.url.rsplit(":", 1)[1])
    connects = {(host, int(p)) for event, host, p in network if event == "socket.connect"}
    lookups = {host for event, host, _ in network if event == "socket.getaddrinfo"}
    assert connects == {("127.0.0.1", port)}, sorted(connects)
    assert lookups <= {"127.0.0.1", "datasets-server.127.0.0.1"}, sorted(lookups)
    served = [(method, path) for method, path, status in loopback_hub.requests[served_before:] if status == 200]
    for name in ["metadata.csv", *images]:
        assert any(m == "GET" and p.startswith(f"/datasets/{REPO}/resolve/") and p.endswith("/" + name)
                   for m, p in served), f"{name} was not downloaded from the loopback Hub"
    assert any(Path(loopback_hub.home, "datasets").rglob("*.arrow"))  # datasets' cache is the fixture's

    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["dataset"]["hub_id"] == REPO and summary["config"]["dataset"] == REPO
    assert f"--dataset {REPO}" in summary["command"]
    # All ten published images were decoded; the held-out person (2 photos) is not trained on.
    assert summary["dataset"]["num_images"] == 10
    assert (summary["dataset"]["train_size"], summary["dataset"]["heldout_size"]) == (8, 2)
    assert summary["steps"] == 2

    card = ModelCard.load(out / "README.md")
    assert card.data.datasets == [REPO]  # the Hub links the model to the dataset it was trained on
    assert "8 used for training, 2 held out" in card.text


def test_train_py_reads_a_hub_dataset_configured_by_the_environment_alone(
        loopback_hub: HubHandle, folder: Path, tmp_path: Path) -> None:
    """``python training/train.py --dataset ID`` in a fresh process: ``datasets`` is imported there with
    nothing but the environment (HF_ENDPOINT, HF_HOME, HF_DATASETS_CACHE) pointing it at the Hub."""
    import subprocess

    publish_dataset(folder, REPO, "cc-by-4.0")
    loopback_hub.use_fresh_cache()
    served_before = len(loopback_hub.requests)
    out = tmp_path / "run"
    command = [sys.executable, "training/train.py", "--dataset", REPO, "--tiny", "true", "--family", "dcgan",
               "--max_steps", "1", "--batch_size", "4", "--compute_metrics", "false", "--split_key", "face_id",
               "--output_dir", str(out), "--cache_dir", str(tmp_path / "cache")]
    proc = subprocess.run(command, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]

    dataset = json.loads((out / "training_summary.json").read_text())["dataset"]
    assert dataset["name"] == dataset["hub_id"] == REPO  # no dataset_name given: the id names the data
    assert (dataset["num_images"], dataset["train_size"], dataset["heldout_size"]) == (10, 8, 2)
    downloaded = {p.rsplit("/", 1)[1] for m, p, status in loopback_hub.requests[served_before:]
                  if m == "GET" and status == 200 and p.startswith(f"/datasets/{REPO}/resolve/")}
    assert {"metadata.csv", "001_neutral.jpg", "005_smiling.jpg"} <= downloaded
    assert any(Path(loopback_hub.home, "datasets").rglob("*.arrow"))  # HF_DATASETS_CACHE was honoured
