"""Publish a prepared image folder as a Hugging Face Hub dataset, with a dataset card.

    python -m training.publish_dataset data/london_faces your-org/london-faces \
        --license cc-by-4.0 --pretty_name "London faces" [--private] [--revision BRANCH]

The folder must be an ``imagefolder`` (a ``metadata.csv`` with a ``file_name`` column, or images in
class sub-folders), which is what both ``--data_dir`` and ``datasets.load_dataset`` read, so the Hub
copy trains with ``--dataset your-org/london-faces``. The card keeps the folder's own ``README.md``
(credit, licence terms) as its body and adds the Hub metadata; the folder itself is never changed,
and the upload is one commit (retried on transient errors), so a failed publish can be run again.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Optional, Sequence

from huggingface_hub import DatasetCard, DatasetCardData

from training.data import IMAGE_EXTENSIONS
from zoo.hub import publish_folder

#: Hub size buckets for the card metadata.
_SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"))


def _count_images(folder: Path) -> int:
    metadata = folder / "metadata.csv"
    if metadata.is_file():
        with metadata.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if "file_name" not in (reader.fieldnames or []):
                raise ValueError(f"{metadata} needs a file_name column (imagefolder convention)")
            return sum(1 for _ in reader)
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)


def dataset_card(folder: Path, license_: str, pretty_name: str, num_images: int) -> DatasetCard:
    """Hub metadata over the folder's own README (its credit and terms travel with the data)."""
    size = next((name for limit, name in _SIZE_CATEGORIES if num_images < limit), "n>100K")
    data = DatasetCardData(
        license=license_, pretty_name=pretty_name, size_categories=[size],
        task_categories=["unconditional-image-generation", "text-to-image", "image-to-image"],
        tags=["gan-zoo", "imagefolder"],
    )
    body = (folder / "README.md").read_text(encoding="utf-8") if (folder / "README.md").is_file() else (
        f"# {pretty_name}\n\n{num_images} images in the `imagefolder` layout.\n"
    )
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def publish_dataset(
    folder: str | Path,
    repo_id: str,
    license_: str,
    pretty_name: Optional[str] = None,
    private: bool = False,
    revision: Optional[str] = None,
    token: Optional[str] = None,
) -> str:
    """Upload ``folder`` (plus its card) as the dataset repo ``repo_id``; returns the commit URL.

    The upload is :func:`zoo.hub.publish_folder`'s (token check, retries, one commit, the folder
    staged so the card never overwrites its README)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a directory")
    num_images = _count_images(folder)
    if num_images == 0:
        raise ValueError(f"{folder} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    card = dataset_card(folder, license_, pretty_name or folder.name, num_images)
    return publish_folder(folder, repo_id, repo_type="dataset", private=private, revision=revision, token=token,
                          commit_message=f"Upload {num_images} images ({folder.name})",
                          extra_files={"README.md": str(card).encode("utf-8")})


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("repo_id")
    parser.add_argument("--license", required=True, help="Hub licence id of the images, e.g. cc-by-4.0")
    parser.add_argument("--pretty_name", default=None)
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--revision", default=None, help="branch to publish to (created from main if missing)")
    args = parser.parse_args(argv)
    try:
        url = publish_dataset(args.folder, args.repo_id, args.license, args.pretty_name, args.private, args.revision)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
