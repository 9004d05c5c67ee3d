"""Moving checkpoint directories to and from the Hugging Face Hub, safetensors only.

Downloads go through ``snapshot_download`` with an allow-list, so a repo that also holds pickles
(``.bin``/``.pt``/``.ckpt``...) can never get one onto disk; a repo that has *only* pickles is refused
with a clear error instead of failing later inside diffusers. Uploads publish a finished checkpoint
directory minus its resumable training state (``checkpoints/``, ``logs/``), retrying transient Hub
failures, and never touch the local folder. The endpoint, cache and offline switch are read from
``huggingface_hub`` at call time, so ``HF_ENDPOINT``/``HF_HOME``/``HF_HUB_OFFLINE`` are honoured.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, TypeVar, Union

import httpx2
from huggingface_hub import HfApi, constants, get_cached_repo_tree, get_token, snapshot_download
from huggingface_hub.errors import (
    CachedRepoTreeNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

logger = logging.getLogger(__name__)

#: What loading a model needs: the pipeline index, component configs, safetensors weights, and the
#: small summary that names its classes. Nothing else is downloaded to load a model.
WEIGHT_PATTERNS = ["model_index.json", "*/config.json", "*.safetensors", "training_summary.json"]
#: What showing a model's card needs besides (asked for by the app's Models tab, not by loading).
CARD_PATTERNS = ["README.md", "metrics.json", "training_config.yaml", "samples/final_grid.png", "samples/progress.gif"]
#: Pickle-based weight formats: unpickling runs arbitrary code, so they are never downloaded or published.
PICKLE_PATTERNS = ["*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt"]
#: Training state that stays on the training machine.
PRIVATE_PATTERNS = ["checkpoints/**", "logs/**"]

_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")
_TRANSIENT_STATUS = {408, 429}
T = TypeVar("T")


def is_repo_id(name: str) -> bool:
    """True for ``namespace/name``; local paths like ``./runs/x`` or ``a/b/c`` are not repo ids."""
    return bool(_REPO_ID.fullmatch(name))


def is_offline() -> bool:
    """``HF_HUB_OFFLINE`` as the environment says *now* (huggingface_hub only reads it at import)."""
    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.HF_HUB_OFFLINE or env.upper() in constants.ENV_VARS_TRUE_VALUES


def split_revision(model_id: str) -> tuple[str, Optional[str]]:
    """``org/name@revision`` -> ``("org/name", "revision")``; anything else -> ``(model_id, None)``.

    The revision (branch, tag or commit) pins what is loaded, so the card shown and the weights used
    come from the same commit.
    """
    name, sep, revision = str(model_id).rpartition("@")
    if sep and revision and is_repo_id(name):
        return name, revision
    return str(model_id), None


def resolve_model_dir(
    name_or_path: Union[str, os.PathLike], revision: Optional[str] = None, with_card: bool = False
) -> Path:
    """An existing local directory as is, or a Hub repo id (``org/name[@revision]``) downloaded to the cache."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name, pinned = split_revision(str(name_or_path))
    if pinned and revision and pinned != revision:
        raise ValueError(f"{name_or_path!r} pins revision {pinned!r} but revision {revision!r} was also asked for")
    revision = revision or pinned
    if is_repo_id(name):
        try:
            return download_pipeline_dir(name, revision=revision, with_card=with_card)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{err} (and there is no local directory {name!r})") from err
    raise ValueError(f"{name!r} is neither an existing directory nor a Hub repo id of the form 'org/name'")


def download_pipeline_dir(
    repo_id: str,
    revision: Optional[str] = None,
    cache_dir: Optional[Union[str, os.PathLike]] = None,
    with_card: bool = False,
) -> Path:
    """Download (or find in the cache, when offline) the files that load a Hub model, plus its card on request."""
    if not is_repo_id(repo_id):
        raise ValueError(f"repo_id must look like 'org/name', got {repo_id!r}")
    offline = is_offline()
    where = f"'{repo_id}'" + (f" at revision '{revision}'" if revision else "")
    try:
        folder = snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=cache_dir,
            allow_patterns=WEIGHT_PATTERNS + (CARD_PATTERNS if with_card else []),
            ignore_patterns=PICKLE_PATTERNS + PRIVATE_PATTERNS,
            local_files_only=offline,
        )
    except (RepositoryNotFoundError, RevisionNotFoundError) as err:
        raise FileNotFoundError(
            f"Hub repo {where} was not found at {constants.ENDPOINT} (or it is private and the token cannot read it)"
        ) from err
    except LocalEntryNotFoundError as err:
        if offline:
            raise FileNotFoundError(
                f"Hub repo {where} is not in the local cache and HF_HUB_OFFLINE=1 forbids downloading it; "
                "run once with network access or unset HF_HUB_OFFLINE"
            ) from err
        raise ConnectionError(
            f"could not download Hub repo {where} from {constants.ENDPOINT} and it is not cached: {err}"
        ) from err
    root = Path(folder)
    if not any(root.rglob("*.safetensors")):
        pickles = _cached_pickle_files(repo_id, root.name, cache_dir)
        if pickles:
            raise ValueError(
                f"Hub repo {where} only has pickle weights ({', '.join(pickles[:5])}); GAN Zoo refuses pickles "
                "because unpickling can run arbitrary code. Convert the weights to .safetensors and re-publish."
            )
        raise ValueError(f"Hub repo {where} has no .safetensors weights")
    return root


_COMMIT = re.compile(r"[0-9a-f]{40}")


def snapshot_commit(folder: Union[str, os.PathLike]) -> Optional[str]:
    """The commit a Hub download folder holds (huggingface_hub names snapshots by commit), else None.

    Why: a branch name like ``main`` can move between two downloads; loading by the commit that the
    first download resolved keeps the card a user read and the weights they run the same version.
    """
    folder = Path(folder)
    return folder.name if folder.parent.name == "snapshots" and _COMMIT.fullmatch(folder.name) else None


def _cached_pickle_files(repo_id: str, commit: str, cache_dir: Optional[Union[str, os.PathLike]]) -> list[str]:
    """Pickled files of the repo at ``commit``, from the tree listing snapshot_download cached (no network)."""
    try:
        files = get_cached_repo_tree(repo_id, revision=commit, cache_dir=cache_dir)
    except (CachedRepoTreeNotFoundError, ValueError):
        return []
    return sorted(f.path for f in files if any(Path(f.path).match(p) for p in PICKLE_PATTERNS))


def publish_folder(
    folder: Union[str, os.PathLike],
    repo_id: str,
    *,
    private: bool = False,
    revision: Optional[str] = None,
    commit_message: str = "Upload GAN Zoo checkpoint",
    token: Optional[str] = None,
    max_retries: int = 5,
    backoff: float = 1.0,
    extra_files: Optional[dict[str, bytes]] = None,
    repo_type: str = "model",
) -> str:
    """Publish a checkpoint directory (or, with ``repo_type="dataset"``, a data folder); returns the
    commit URL (a ``CommitInfo``, whose ``.oid`` is the sha).

    ``extra_files`` (path in repo -> bytes) are added or replace the folder's files in the same single
    commit; they are staged in a temporary copy, so the local folder is never changed.

    The repo is created if needed (existing repos keep their visibility) and ``revision``, when given,
    is created as a branch from ``main`` if missing. Transient failures (HTTP 5xx/408/429, connection
    errors) are retried ``max_retries`` times with exponential backoff starting at ``backoff`` seconds.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"cannot publish {folder}: not a directory")
    if not is_repo_id(repo_id):
        raise ValueError(f"repo_id must look like 'org/name', got {repo_id!r}")
    if max_retries < 0 or backoff < 0:
        raise ValueError(f"max_retries and backoff must be >= 0, got {max_retries} and {backoff}")
    token = token or get_token()
    if not token:
        raise RuntimeError(
            f"cannot publish to {repo_id!r}: no Hugging Face token. Pass token=..., set HF_TOKEN, "
            "or run `hf auth login` (the token needs write access)."
        )
    if is_offline():
        raise RuntimeError(f"cannot publish to {repo_id!r}: HF_HUB_OFFLINE is set")

    api = HfApi(token=token)

    def retry(what: str, call: Callable[[], T]) -> T:
        return _with_retries(call, what=what, endpoint=api.endpoint, max_retries=max_retries, backoff=backoff)

    retry(f"create repo {repo_id}",
          lambda: api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True))
    if revision and revision != constants.DEFAULT_REVISION:
        retry(f"create branch {revision}",
              lambda: api.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True))
    with tempfile.TemporaryDirectory(prefix="gan_zoo_publish_") as staging:
        upload_from = folder
        if extra_files:
            upload_from = Path(staging) / "repo"
            shutil.copytree(folder, upload_from, ignore=_not_published(folder))
            for rel, content in extra_files.items():
                (upload_from / rel).parent.mkdir(parents=True, exist_ok=True)
                (upload_from / rel).write_bytes(content)
        commit = retry(
            f"upload {folder} to {repo_id}",
            lambda: api.upload_folder(
                repo_id=repo_id,
                repo_type=repo_type,
                folder_path=upload_from,
                revision=revision,
                commit_message=commit_message,
                ignore_patterns=PRIVATE_PATTERNS + PICKLE_PATTERNS,  # a fresh list each try: upload_folder extends it
            ),
        )
    logger.info("published %s to %s (%s)", folder, repo_id, commit)
    return commit


def _not_published(root: Path) -> Callable[[str, list[str]], set[str]]:
    """A ``copytree`` filter that leaves out training state and pickles (what upload_folder ignores)."""
    private_dirs = {p.split("/")[0] for p in PRIVATE_PATTERNS}

    def ignore(directory: str, names: list[str]) -> set[str]:
        top = Path(directory).resolve() == root.resolve()
        return {n for n in names if (top and n in private_dirs) or any(Path(n).match(p) for p in PICKLE_PATTERNS)}

    return ignore


def _is_transient(err: Exception) -> bool:
    if isinstance(err, httpx2.TransportError):
        return True
    status = getattr(getattr(err, "response", None), "status_code", None)
    return isinstance(err, HfHubHTTPError) and status is not None and (status >= 500 or status in _TRANSIENT_STATUS)


def _with_retries(call: Callable[[], T], *, what: str, endpoint: str, max_retries: int, backoff: float) -> T:
    """Run ``call``, retrying transient Hub errors; give up with an error that names the endpoint."""
    for attempt in range(max_retries + 1):
        try:
            return call()
        except (HfHubHTTPError, httpx2.TransportError) as err:
            if not _is_transient(err):
                raise
            if attempt == max_retries:
                last = err
                break
            delay = backoff * 2**attempt
            logger.warning(
                "%s failed (%s: %s); retry %d/%d in %.2fs",
                what, type(err).__name__, err, attempt + 1, max_retries, delay,
            )
            time.sleep(delay)
    attempts = f"{max_retries + 1} attempt{'s' if max_retries else ''}"
    if isinstance(last, HfHubHTTPError):
        raise RuntimeError(
            f"{what} failed: the Hub at {endpoint} kept answering HTTP {last.response.status_code} ({attempts})"
        ) from last
    raise ConnectionError(
        f"{what} failed: could not reach the Hub at {endpoint} ({attempts}: {type(last).__name__}: {last}); "
        "check HF_ENDPOINT and the network"
    ) from last
