"""Publish a finished checkpoint directory to the Hub: render its model card, then upload it.

The card is (re)written right before the upload so that README.md always matches the metrics and
summary being published. Only the pipeline files, card, config, summaries and sample images go up;
``checkpoints/``, ``logs/`` and pickles stay local (see :mod:`zoo.hub`).

    python -m training.publish runs/faces-dcgan my-org/faces-projected-64 [--private] [--revision BRANCH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional, Sequence, Union

from model_cards.render import write_model_card
from zoo.hub import publish_folder
from zoo.hub_code import hub_files


def publish_checkpoint(
    checkpoint_dir: Union[str, os.PathLike],
    repo_id: str,
    private: bool = False,
    revision: Optional[str] = None,
    commit_message: Optional[str] = None,
    token: Optional[str] = None,
    max_retries: int = 5,
    backoff: float = 1.0,
) -> str:
    """Write ``README.md`` into ``checkpoint_dir`` and upload the directory; returns the commit URL."""
    root = Path(checkpoint_dir)
    if not (root / "model_index.json").is_file():
        raise ValueError(f"{root} is not a saved pipeline (no model_index.json); train or save it first")
    if not any(p for p in root.rglob("*.safetensors") if "checkpoints" not in p.relative_to(root).parts):
        raise ValueError(f"{root} has no .safetensors weights outside checkpoints/; nothing to publish")
    write_model_card(root, repo_id=repo_id)
    return publish_folder(
        root,
        repo_id,
        extra_files=hub_files(root),  # the code that lets plain diffusers load it (zoo/hub_code.py)
        private=private,
        revision=revision,
        commit_message=commit_message or _default_message(root),
        token=token,
        max_retries=max_retries,
        backoff=backoff,
    )


def _default_message(root: Path) -> str:
    try:
        summary = json.loads((root / "training_summary.json").read_text(encoding="utf-8"))
        return f"Upload {summary['family']} generator after {summary['steps']} steps"
    except (OSError, ValueError, KeyError, TypeError):
        return "Upload GAN Zoo checkpoint"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint_dir", type=Path, help="the trainer's output directory")
    parser.add_argument("repo_id", help="Hub repo id, org/name")
    parser.add_argument("--private", action="store_true", help="create the repo as private (if it does not exist)")
    parser.add_argument("--revision", default=None, help="branch to commit to (created from main if missing)")
    parser.add_argument("--commit-message", default=None)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        url = publish_checkpoint(
            args.checkpoint_dir, args.repo_id, private=args.private, revision=args.revision,
            commit_message=args.commit_message,
        )
    except (ValueError, RuntimeError, OSError) as err:  # OSError: connection and Hub HTTP errors
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
