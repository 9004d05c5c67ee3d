"""Write a minimal Hugging Face Space folder for the GAN Zoo app.

    python scripts/space_export.py OUT_DIR [--model ORG/NAME ...] [--no-bundled] [--force]
    hf upload --repo-type space your-org/gan-zoo OUT_DIR .

The repository itself is already a valid Space (its README carries the Spaces YAML header), but
it also holds the trainer, tests and benchmarks that a Space never runs. The folder written here
has only what the app needs: ``app.py``, ``ui/``, ``zoo/`` (with the bundled weights unless
``--no-bundled``), a ``requirements.txt`` without the test tools, and a README whose header lists
each ``--model`` under ``models:`` and ``preload_from_hub:`` (weights and configs only, so the
Space build downloads them once and never fetches a pickle). The same ids go to ``models.txt``,
which ``app.py`` reads, so they appear in the app's model pickers without setting ``GAN_ZOO_MODELS``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from huggingface_hub import SpaceCard, SpaceCardData  # noqa: E402

from zoo.hub import CARD_PATTERNS, WEIGHT_PATTERNS  # noqa: E402

#: The files the app reads (to load a model, and to show its card): the same lists zoo.hub downloads,
#: so pickles and training state stay off the Space.
PRELOAD_FILES = ",".join(WEIGHT_PATTERNS + CARD_PATTERNS)
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
#: Build and cache files that never go to a Space (Gradio writes .pyi stubs next to component modules).
NOT_SHIPPED = ("__pycache__", "*.pyc", "*.pyi", ".pytest_cache")

BODY = """# {title}

{description}

This Space was written by `python scripts/space_export.py` from the GAN Zoo repository. It runs on
CPU: the bundled face models were trained on the London faces set (DeBruine & Jones 2017,
CC BY 4.0, https://doi.org/10.6084/m9.figshare.5047666.v5); each model's card is shown in the
app's **Models** tab.
"""


def parse_model(spec: str) -> str:
    """A Hub model repo id, optionally pinned: ``org/name@revision`` (else the app loads its main branch)."""
    repo_id, _, revision = spec.partition("@")
    if not REPO_ID.match(repo_id) or ("@" in spec and not revision):
        raise SystemExit(f"error: --model wants a Hub repo id like org/name or org/name@revision, got {spec!r}")
    return spec


def space_requirements(text: str) -> str:
    """The pinned runtime requirements: everything before the ``# tests`` block."""
    kept = []
    for line in text.splitlines():
        if line.strip().lower().startswith("# tests"):
            break
        kept.append(line)
    return "\n".join(kept).rstrip() + "\n"


def space_card(models: list[str]) -> SpaceCard:
    """The project README's Spaces header plus the extra models, over a short body."""
    header = SpaceCard.load(ROOT / "README.md").data.to_dict()
    if models:
        pinned = [spec.partition("@") for spec in models]
        header["models"] = list(dict.fromkeys(repo_id for repo_id, _, _ in pinned))
        # "repo files [commit]": a pinned model is preloaded at its revision, as the app will load it.
        header["preload_from_hub"] = [" ".join(filter(None, (repo_id, PRELOAD_FILES, revision)))
                                      for repo_id, _, revision in pinned]
    body = BODY.format(title=header.get("title", "GAN Zoo"), description=header.get("short_description", ""))
    return SpaceCard(f"---\n{SpaceCardData(**header).to_yaml()}\n---\n\n{body}")


def export(out: Path, models: list[str], bundled: bool = True, force: bool = False) -> Path:
    """Write the Space folder; refuses to touch a non-empty ``out`` unless ``force``."""
    if out.exists() and any(out.iterdir()):
        if not force:
            raise SystemExit(f"error: {out} is not empty (use --force to replace it)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "app.py", out / "app.py")
    shutil.copytree(ROOT / "ui", out / "ui", ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    zoo_skipped = NOT_SHIPPED if bundled else (*NOT_SHIPPED, "pretrained")
    shutil.copytree(ROOT / "zoo", out / "zoo", ignore=shutil.ignore_patterns(*zoo_skipped))
    (out / "requirements.txt").write_text(space_requirements((ROOT / "requirements.txt").read_text()))
    space_card(models).save(out / "README.md")
    if models:
        (out / "models.txt").write_text("".join(f"{repo_id}\n" for repo_id in models))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (must be empty or missing)")
    parser.add_argument("--model", action="append", default=[], metavar="ORG/NAME",
                        help="Hub model to list, preload and show in the app (repeatable)")
    parser.add_argument("--no-bundled", action="store_true", help="leave zoo/pretrained out (Hub models only)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    args = parser.parse_args(argv)
    models = [parse_model(spec) for spec in args.model]
    if args.no_bundled and not models:
        parser.error("--no-bundled needs at least one --model, or the app has nothing to show")
    out = export(args.out, models, bundled=not args.no_bundled, force=args.force)
    files = sum(1 for p in out.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    print(f"wrote {out} ({files} files, {size:.1f} MB); upload with:\n"
          f"  hf upload --repo-type space <org>/<space-name> {out} .")
    return 0


if __name__ == "__main__":
    sys.exit(main())
