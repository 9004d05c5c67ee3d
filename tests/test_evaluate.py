"""python -m training.evaluate: the scorecard, the real-vs-real reference, metrics.json and the card."""

from __future__ import annotations

import json

import pytest

from model_cards.render import render_model_card
from training import evaluate

from conftest_hub import loopback_hub  # noqa: F401,E402 (fixture)


def test_scorecard_with_reference_is_written_printed_and_carded(checkpoint, capsys):
    run, folder = checkpoint
    assert evaluate.main([str(run), "--data_dir", str(folder), "--num_samples", "16", "--cache_dir", str(run.parent / "cache")]) == 0
    printed = capsys.readouterr().out
    assert "real half B (reference)" in printed and "memorisation" in printed
    metrics = json.loads((run / "metrics.json").read_text())
    suite = metrics["evaluation"]
    ref, model = suite["reference_real_vs_real"], suite["vs_half"]
    # Same sets and sizes on both rows of the comparison table.
    assert ref["num_real"] == model["num_real"] and ref["num_fake"] == model["num_fake"]
    for key in ("precision", "recall", "kid", "diversity"):
        assert isinstance(ref[key], float) and isinstance(model[key], float)
    train = suite["vs_train"]
    assert train["num_fake_kid"] == 16 and train["num_fake_pr"] == train["num_real"] == metrics["num_real"]
    assert 0 <= metrics["precision"] <= 1 and metrics["memorisation_ratio"] > 0
    from training.config import portable_path

    assert f"--data_dir {portable_path(str(folder))} --num_samples 16" in metrics["evaluated_with"]  # re-runnable
    assert (run / "samples" / "nearest_neighbours.png").is_file()
    card = render_model_card(run).content
    assert "Quality scorecard" in card and "half B (best possible)" in card
    assert "samples/nearest_neighbours.png" in card


def test_too_few_samples_is_refused(checkpoint):
    run, folder = checkpoint
    with pytest.raises(SystemExit, match="num_samples"):
        evaluate.main([str(run), "--data_dir", str(folder), "--num_samples", "2", "--cache_dir", str(run.parent / "cache")])


def test_card_shows_how_a_conditional_model_follows_its_input(checkpoint, tmp_path):
    import shutil

    run, _ = checkpoint
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics.setdefault("evaluation", {"vs_half": {"num_real": 4, "num_fake": 4, "precision": 0.5, "recall": 0.25,
                                                  "kid": 0.1, "diversity": 0.9}})
    metrics["evaluation"]["faithfulness"] = {"sketch_styles": {"landmarks": {
        "n": 10, "l1": 0.0598, "ssim": 0.787, "edge_consistency_l1": 0.0952, "kid": 0.0727, "precision": 0.0}}}
    (copy / "metrics.json").write_text(json.dumps(metrics))
    card = render_model_card(copy).content
    assert "| Input style (held-out people) |" in card and "| landmarks | 10 | 0.0598 | 0.787 |" in card
    metrics["evaluation"]["faithfulness"] = {
        "per_prompt": 16, "probe_ceiling": {"gender": 0.94, "expression": 0.86},
        "template_wording": {"accuracy": {"gender": 0.62, "expression": 0.49}},
        "unseen_wording": {"accuracy": {"gender": 0.60, "expression": 0.55}},
    }
    (copy / "metrics.json").write_text(json.dumps(metrics))
    card = render_model_card(copy).content
    assert "| expression | 0.49 | 0.55 | 0.86 |" in card and "ethnicity" not in card  # not measured: no row
    metrics["evaluation"]["faithfulness"]["ethnicity"] = {"accuracy": {"ethnicity": 0.71}}
    metrics["evaluation"]["faithfulness"]["probe_ceiling"]["ethnicity"] = 0.83
    (copy / "metrics.json").write_text(json.dumps(metrics))
    assert "| ethnicity (white / not white) | 0.71 | - | 0.83 |" in render_model_card(copy).content


def test_a_hub_repo_id_is_scored_in_a_local_copy(checkpoint, tmp_path, loopback_hub):
    """``python -m training.evaluate org/name`` downloads the model (with its config and card files),
    scores a copy, and leaves the Hub cache as it was downloaded."""
    from training.publish import publish_checkpoint

    run, folder = checkpoint
    publish_checkpoint(run, "someone/tiny-eval")
    out = tmp_path / "scored"
    assert evaluate.main(["someone/tiny-eval@main", "--data_dir", str(folder), "--num_samples", "16",
                          "--cache_dir", str(run.parent / "cache"), "--output_dir", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["evaluation"]["reference_real_vs_real"] and (out / "samples" / "nearest_neighbours.png").is_file()
    published = loopback_hub.repos["someone/tiny-eval"].head()["metrics.json"]
    cached = list(loopback_hub.home.rglob("metrics.json"))
    assert cached and all(p.read_bytes() == published for p in cached)  # the cache holds what was downloaded
    assert (out / "metrics.json").read_bytes() != published
