"""Entry point: ``accelerate launch training/train.py --config training/configs/<name>.yaml [--key value ...]``.

Also runs as ``python training/train.py ...`` (one process). Exit codes: 0 done; 2 bad config;
130 / 143 stopped by SIGINT / SIGTERM after writing a checkpoint (resume with
``--resume_from_checkpoint latest``).
"""

from __future__ import annotations

import sys
from typing import Optional

USAGE = "usage: train.py [--config FILE.yaml] [--key value ...]   (keys: see training/README.md)"


def split_config_arg(argv: list[str]) -> tuple[Optional[str], list[str]]:
    """Pull ``--config PATH`` (or ``--config=PATH``) out of the arguments; the rest are overrides."""
    rest, path = [], None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--config":
            if i + 1 >= len(argv):
                raise SystemExit(f"--config needs a path\n{USAGE}")
            path, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--config="):
            path = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return path, rest


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return 0
    from training.config import ConfigError, load_config

    path, overrides = split_config_arg(argv)
    try:
        cfg = load_config(path, overrides)
        from training.data import DataError
        from training.loop import train  # heavy imports only after the config is known to be good
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        return train(cfg)
    except (ConfigError, DataError) as err:  # the data does not fit the config: one line, not a traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
