"""Publishing an image folder as a Hub dataset (with a dataset card), on the loopback Hub."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard, snapshot_download

from conftest_hub import HubHandle, loopback_hub  # noqa: F401 (fixture)
from training.publish_dataset import main, publish_dataset

LONDON = Path(__file__).resolve().parents[1] / "data" / "london_faces"


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Ten London faces with their metadata rows, README (credit) and licence: a prepared imagefolder."""
    out = tmp_path / "faces"
    (out / "images").mkdir(parents=True)
    with (LONDON / "metadata.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:10]
    with (out / "metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        shutil.copy(LONDON / row["file_name"], out / row["file_name"])
    for name in ("README.md", "LICENSE-CC-BY-4.0.md"):
        shutil.copy(LONDON / name, out / name)
    return out


def test_folder_published_as_a_dataset_with_its_card(loopback_hub: HubHandle, folder: Path) -> None:
    before = _digest(folder)
    publish_dataset(folder, "someone/london-faces-10", "cc-by-4.0", pretty_name="London faces (10)")
    assert _digest(folder) == before  # the local folder is never changed

    local = Path(snapshot_download("someone/london-faces-10", repo_type="dataset"))
    published = _digest(local)
    skip = {"README.md", ".gitattributes"}
    assert {k: v for k, v in published.items() if k not in skip} == {k: v for k, v in before.items() if k not in skip}
    card = DatasetCard.load(local / "README.md")
    assert card.data.license == "cc-by-4.0" and card.data.pretty_name == "London faces (10)"
    assert card.data.size_categories == ["n<1K"] and "gan-zoo" in card.data.tags
    assert "DeBruine, L. & Jones, B. (2017)" in card.text  # the folder's credit is the card's body
    assert "someone/london-faces-10" not in loopback_hub.repos  # a dataset repo, not a model repo
    assert "datasets/someone/london-faces-10" in loopback_hub.repos


def test_cli_refuses_a_folder_without_images(loopback_hub: HubHandle, tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "someone/empty", "--license", "mit"]) == 2
    assert "holds no images" in capsys.readouterr().err
