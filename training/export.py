"""Shrink a finished checkpoint directory for bundling or publishing: fp16 weights.

Storing the weights in fp16 halves the repository size; the pipelines always load them as
float32, so CPUs without fast fp16 kernels are unaffected, and only the rounding of the stored
weights changes the images (the bundled models' FID/KID are measured on the fp16 files by
``python -m training.evaluate``).

    python -m training.export <checkpoint_dir> [<checkpoint_dir> ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from safetensors.torch import load_file, save_file


def halve_safetensors(path: Path) -> tuple[int, int]:
    """Rewrite one safetensors file with float tensors in fp16; returns (bytes before, bytes after)."""
    before = path.stat().st_size
    tensors = load_file(str(path))
    halved = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
    save_file(halved, str(path), metadata={"format": "pt"})
    return before, path.stat().st_size


def export_fp16(checkpoint_dir: Path) -> list[tuple[Path, int, int]]:
    """Halve every component's weights in a pipeline directory (never the training checkpoints)."""
    checkpoint_dir = Path(checkpoint_dir)
    if not (checkpoint_dir / "model_index.json").is_file():
        raise ValueError(f"{checkpoint_dir} is not a pipeline directory (no model_index.json)")
    done = []
    for path in sorted(checkpoint_dir.glob("*/*.safetensors")):
        if path.parent.name in {"checkpoints", "logs"}:
            continue
        done.append((path, *halve_safetensors(path)))
    if not done:
        raise ValueError(f"{checkpoint_dir} has no component weights to export")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint_dirs", nargs="+", type=Path)
    for directory in parser.parse_args().checkpoint_dirs:
        for path, before, after in export_fp16(directory):
            print(f"{path}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
