"""Publishing to and downloading from the Hub, through the real huggingface_hub client and a loopback Hub."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from huggingface_hub import HfApi, ModelCard

from conftest_hub import HubHandle, loopback_hub, write_fake_checkpoint  # noqa: F401 (fixture)
from training.publish import main as publish_main
from training.publish import publish_checkpoint
from zoo import registry
from zoo.hub import download_pipeline_dir, publish_folder, resolve_model_dir

REPO = "gan-zoo-test/faces-dcgan-32"
PUBLISHED = {  # what a checkpoint dir publishes: no checkpoints/, logs/ or pickles
    "model_index.json", "generator/config.json", "generator/diffusion_pytorch_model.safetensors",
    "training_summary.json", "training_config.yaml", "metrics.json",
    "samples/final_grid.png", "samples/progress.gif", "samples/loss_curves.png",
}


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root`` (the state the tests compare)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    root = write_fake_checkpoint(tmp_path / "run", weights=True)
    (root / "stray_weights.pt").write_bytes(b"a pickle that must not be published")
    (root / "README.md").write_text("---\nlicense: cc-by-4.0\nlibrary_name: diffusers\n---\n# tiny\n")
    return root


def test_publish_then_download_is_byte_identical(loopback_hub: HubHandle, checkpoint: Path) -> None:
    before = tree_digest(checkpoint)
    commit = publish_folder(checkpoint, REPO, commit_message="first upload")

    repo = loopback_hub.repos[REPO]
    assert commit.oid == repo.branches["main"] and commit.endswith(commit.oid)
    assert repo.commits[-1].message == "first upload"
    assert set(repo.head()) == PUBLISHED | {"README.md", ".gitattributes"}
    assert tree_digest(checkpoint) == before  # publishing only reads

    home = loopback_hub.use_fresh_cache()
    folder = download_pipeline_dir(REPO)
    assert folder.is_relative_to(home)
    downloaded = tree_digest(folder)
    # Loading takes only what loading needs: no card, no pictures, no metrics.
    assert set(downloaded) == {"model_index.json", "generator/config.json", "training_summary.json",
                               "generator/diffusion_pytorch_model.safetensors"}
    assert not any("README" in path or "samples/" in path for _, path, _ in loopback_hub.requests if "/resolve/" in path)
    # The app's Models tab asks for the card and the pictures it shows as well.
    downloaded = tree_digest(download_pipeline_dir(REPO, with_card=True))
    assert set(downloaded) == PUBLISHED - {"samples/loss_curves.png"} | {"README.md"}
    assert downloaded == {path: before[path] for path in downloaded}
    assert resolve_model_dir(REPO) == folder
    assert resolve_model_dir(str(checkpoint)) == checkpoint  # a local dir is used as is, no network
    with pytest.raises(ValueError, match="neither an existing directory nor a Hub repo id"):
        resolve_model_dir("no such thing")


def test_revisions_and_branches(loopback_hub: HubHandle, checkpoint: Path) -> None:
    weights = checkpoint / "generator" / "diffusion_pytorch_model.safetensors"
    v1 = publish_folder(checkpoint, REPO).oid
    old = weights.read_bytes()
    weights.write_bytes(old + b" ")  # any change will do: the loader is not involved here
    dev = publish_folder(checkpoint, REPO, revision="dev", commit_message="try on a branch").oid
    weights.write_bytes(old + b"  ")
    dev2 = publish_folder(checkpoint, REPO, revision="dev").oid  # the branch exists now: reused

    repo = loopback_hub.repos[REPO]
    assert repo.branches == {"main": v1, "dev": dev2} and dev != dev2
    assert repo.resolve(dev2).parent == dev and repo.resolve(dev).parent == v1  # branched off main
    rel = "generator/diffusion_pytorch_model.safetensors"
    assert (download_pipeline_dir(REPO) / rel).read_bytes() == old
    assert (download_pipeline_dir(REPO, revision="dev") / rel).read_bytes() == old + b"  "
    assert (download_pipeline_dir(REPO, revision=dev) / rel).read_bytes() == old + b" "
    with pytest.raises(FileNotFoundError, match="no-such-branch"):
        download_pipeline_dir(REPO, revision="no-such-branch")
    # org/name@revision pins the revision wherever a model id is accepted.
    assert (resolve_model_dir(f"{REPO}@dev") / rel).read_bytes() == old + b"  "
    assert (resolve_model_dir(f"{REPO}@{dev}") / rel).read_bytes() == old + b" "
    assert registry.resolve(f"{REPO}@dev") == (REPO, "dev")
    with pytest.raises(ValueError, match="pins revision 'dev'"):
        resolve_model_dir(f"{REPO}@dev", revision="main")


def test_pickle_weights_are_refused_and_never_downloaded(loopback_hub: HubHandle, tmp_path: Path) -> None:
    api = HfApi()
    api.create_repo("someone/pickled-gan")
    api.upload_file(path_or_fileobj=b'{"_class_name": "GANSamplingPipeline"}', path_in_repo="model_index.json",
                    repo_id="someone/pickled-gan")
    api.upload_file(path_or_fileobj=b"\x80\x04pickle", path_in_repo="generator/diffusion_pytorch_model.bin",
                    repo_id="someone/pickled-gan")
    with pytest.raises(ValueError, match=r"only has pickle weights \(generator/diffusion_pytorch_model.bin\)"):
        download_pipeline_dir("someone/pickled-gan")

    # With safetensors next to the pickle, the download works and skips the pickle.
    api.upload_file(path_or_fileobj=b"safetensors bytes", path_in_repo="generator/diffusion_pytorch_model.safetensors",
                    repo_id="someone/pickled-gan")
    folder = download_pipeline_dir("someone/pickled-gan")
    assert (folder / "generator" / "diffusion_pytorch_model.safetensors").read_bytes() == b"safetensors bytes"
    assert not list(loopback_hub.home.rglob("*.bin"))
    assert not any(path.endswith(".bin") for _, path, _ in loopback_hub.requests if "/resolve/" in path)


def test_transient_server_errors_are_retried(
    loopback_hub: HubHandle, checkpoint: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loopback_hub.fail_next(2, status=500)
    with caplog.at_level(logging.WARNING, logger="zoo.hub"):
        commit = publish_folder(checkpoint, REPO, backoff=0.01)
    assert [status for _, _, status in loopback_hub.requests[:3]] == [500, 500, 200]
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2
    assert loopback_hub.repos[REPO].branches["main"] == commit.oid

    # A lost commit request is re-sent once, and produces exactly one new commit.
    (checkpoint / "metrics.json").write_text('{"fid": 1.0}')
    loopback_hub.fail_next(1, status=503, match="/commit/")
    publish_folder(checkpoint, REPO, backoff=0.01)
    messages = [c.message for c in loopback_hub.repos[REPO].commits]
    assert messages == ["initial commit"] + ["Upload GAN Zoo checkpoint"] * 2
    assert loopback_hub.repos[REPO].head()["metrics.json"] == b'{"fid": 1.0}'


def test_persistent_server_errors_give_up_naming_the_endpoint(loopback_hub: HubHandle, checkpoint: Path) -> None:
    loopback_hub.fail_next(10, status=502)
    with pytest.raises(RuntimeError, match=f"{loopback_hub.url}.*HTTP 502"):
        publish_folder(checkpoint, REPO, max_retries=2, backoff=0.01)
    assert len(loopback_hub.requests) == 3


def test_server_down_is_a_clear_error_and_leaves_the_folder_alone(loopback_hub: HubHandle, checkpoint: Path) -> None:
    before = tree_digest(checkpoint)
    loopback_hub.stop()
    with pytest.raises(ConnectionError, match=f"could not reach the Hub at {loopback_hub.url}"):
        publish_folder(checkpoint, REPO, max_retries=2, backoff=0.01)
    assert tree_digest(checkpoint) == before


def test_missing_token_fails_before_any_request(loopback_hub: HubHandle, checkpoint: Path) -> None:
    loopback_hub.set_token(None)
    with pytest.raises(RuntimeError, match="no Hugging Face token.*HF_TOKEN"):
        publish_folder(checkpoint, REPO)
    assert loopback_hub.requests == []


def test_private_repos_need_the_token(loopback_hub: HubHandle, checkpoint: Path) -> None:
    publish_folder(checkpoint, REPO, private=True)
    assert loopback_hub.repos[REPO].private
    loopback_hub.set_token(None)
    with pytest.raises(FileNotFoundError, match=f"'{REPO}' was not found.*private"):
        download_pipeline_dir(REPO)


def test_offline_without_cache_names_the_repo(loopback_hub: HubHandle) -> None:
    loopback_hub.set_offline()
    match = "'gan-zoo-test/never-downloaded' is not in the local cache.*HF_HUB_OFFLINE"
    with pytest.raises(FileNotFoundError, match=match):
        download_pipeline_dir("gan-zoo-test/never-downloaded")
    assert loopback_hub.requests == []


def test_offline_with_cache_works_without_the_server(loopback_hub: HubHandle, checkpoint: Path) -> None:
    publish_folder(checkpoint, REPO)
    online = download_pipeline_dir(REPO)
    expected = tree_digest(online)
    loopback_hub.stop()
    loopback_hub.set_offline()
    assert download_pipeline_dir(REPO) == online
    assert tree_digest(resolve_model_dir(REPO)) == expected


def test_publish_checkpoint_renders_the_card_and_uploads(
    loopback_hub: HubHandle, checkpoint: Path, capsys: pytest.CaptureFixture
) -> None:
    (checkpoint / "README.md").unlink()
    assert publish_main([str(checkpoint), REPO, "--revision", "release", "--commit-message", "v1"]) == 0
    repo = loopback_hub.repos[REPO]
    assert capsys.readouterr().out.strip().endswith(repo.branches["release"])
    assert repo.commits[-1].message == "v1"
    card = ModelCard((repo.head("release")["README.md"]).decode())
    assert card.data.pipeline_tag == "unconditional-image-generation"
    assert f'GANSamplingPipeline.from_pretrained("{REPO}")' in card.text
    assert (checkpoint / "README.md").read_bytes() == repo.head("release")["README.md"]

    commit = publish_checkpoint(checkpoint, REPO)  # what the trainer calls; same files -> main gets them
    assert commit.oid == repo.branches["main"]
    # ... plus the code that lets plain diffusers load the repo (tests/test_hub_end_to_end.py runs it).
    code = {"gan_zoo_code.py", "generator/gan_zoo_code.py"}
    assert set(repo.head()) == PUBLISHED | {"README.md", ".gitattributes"} | code


def test_publish_checkpoint_refuses_a_directory_without_weights(loopback_hub: HubHandle, tmp_path: Path) -> None:
    root = write_fake_checkpoint(tmp_path / "run")  # card inputs only
    with pytest.raises(ValueError, match="no model_index.json"):
        publish_checkpoint(root, REPO)
    assert publish_main([str(root), REPO]) == 1
    assert loopback_hub.requests == []


def test_a_publish_cut_off_at_the_commit_keeps_everything_and_can_be_rerun(
    loopback_hub: HubHandle, checkpoint: Path
) -> None:
    """The files go up in one commit: cut off there, the repo gets nothing half-done, the local folder
    is untouched, and running the same publish again gives the complete repo."""
    (checkpoint / "README.md").unlink()  # publish_checkpoint writes the card
    loopback_hub.fail_next(3, status=503, match="commit")  # every try of the one commit fails
    before = tree_digest(checkpoint)
    with pytest.raises(RuntimeError, match="HTTP 503"):
        publish_checkpoint(checkpoint, REPO, max_retries=2, backoff=0.01)
    assert tree_digest(checkpoint) == {**before, "README.md": tree_digest(checkpoint)["README.md"]}
    repo = loopback_hub.repos.get(REPO)
    assert repo is None or not (set(repo.head()) - {".gitattributes"})  # nothing half-published

    publish_checkpoint(checkpoint, REPO)  # the cut-off is over: the same command again
    code = {"gan_zoo_code.py", "generator/gan_zoo_code.py"}
    assert set(loopback_hub.repos[REPO].head()) == PUBLISHED | {"README.md", ".gitattributes"} | code


def test_the_app_loads_the_commit_whose_card_it_shows(loopback_hub: HubHandle, checkpoint: Path, monkeypatch) -> None:
    """A branch that moves after the app read the card must not change the weights it then loads."""
    from ui import catalog

    weights = checkpoint / "generator" / "diffusion_pytorch_model.safetensors"
    first = publish_folder(checkpoint, REPO).oid
    choice = catalog.inspect_model(f"{REPO}@main")
    assert choice.error is None and choice.commit == first
    assert f"(commit `{first[:12]}`)" in choice.source_text
    assert (Path(choice.directory) / "README.md").is_file()  # the card the Models tab shows, from `first`

    old = weights.read_bytes()
    weights.write_bytes(old + b" ")
    assert publish_folder(checkpoint, REPO).oid != first  # main has moved on
    assert choice.load_target == (REPO, first)
    asked: list[tuple] = []
    monkeypatch.setattr(catalog.registry, "load_pipeline", lambda *args: asked.append(args) or object())
    catalog.get_pipeline(choice, object)
    assert asked == [(REPO, object, first, catalog.DEVICE)]
    assert (resolve_model_dir(REPO, revision=first) / weights.relative_to(checkpoint)).read_bytes() == old
    # A local or bundled model has no commit and is loaded by its key.
    local = catalog.inspect_model(str(checkpoint))
    assert local.commit is None and local.load_target == (str(checkpoint), None)
