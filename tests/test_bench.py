"""Smoke runs of the benchmark scripts, so the commands quoted in the README keep working.

Timings are not checked (they depend on the machine); what is checked is that each script runs
with the smallest settings, prints its table or JSON with every row it promises, that times are
positive and finite, and that the load test counts no failures.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from training.synthetic import make_imagefolder


ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args: str, timeout: int = 240) -> str:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def last_json(stdout: str) -> dict:
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _bench_module(name: str, monkeypatch):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("bench_data"), num_images=8, size=36)


def test_train_speed_reports_images_per_second():
    result = last_json(run_bench("bench/train_speed.py", "--steps", "1", "--warmup", "0", "--batch_size", "4",
                                 "--num_images", "8", "--json"))
    assert result["family"] == "dcgan" and result["resolution"] == 64 and result["batch_size"] == 4
    assert positive(result["images_per_sec"]) and positive(result["seconds"])


def test_compare_train_speed_times_both_loops_and_the_ablations(folder):
    result = last_json(run_bench("bench/compare_train_speed.py", "--data_dir", str(folder), "--steps", "1",
                                 "--rounds", "1", "--batch_size", "4", "--ablate", "--json"))
    loops = result["results"]
    assert set(loops) >= {"ours (training/loop.py)", "reference (classic loop)"}
    assert len(loops) == 5  # ours, the reference and three ablations
    assert loops["reference (classic loop)"]["vs_reference"] == 1.0
    for timing in loops.values():
        assert len(timing["images_per_sec"]) == 1 and positive(timing["overall"]) and positive(timing["vs_reference"])


def test_sample_speed_prints_a_row_per_family_and_the_ddpm_ratio():
    out = run_bench("bench/sample_speed.py", "--tiny", "--batch-sizes", "1", "--warmup", "0", "--repeats", "1",
                    "--ddpm-timed-steps", "1")
    rows = [line.split("|")[1:-1] for line in out.splitlines() if re.match(r"\| \S+.* \| \d+ \|", line)]
    families = {cells[1].strip() for cells in rows}
    assert families == {"dcgan", "stylegan", "pix2pix", "textgan", "ddpm"}, out
    for cells in rows:
        assert positive(float(cells[4].replace(",", ""))), cells  # ms/image
        if cells[1].strip() != "ddpm":
            assert positive(float(cells[6].strip().rstrip("x").replace(",", ""))), cells  # DDPM / this


def test_load_test_answers_every_request():
    out = run_bench("bench/load_test.py", "--tiny", "--clients", "1", "2", "--requests", "2")
    rows = [line.split() for line in out.splitlines() if line.startswith("/")]
    assert [(r[0], r[1]) for r in rows] == [("/generate_faces", "1"), ("/generate_faces", "2"),
                                            ("/sketch_to_photo", "1"), ("/sketch_to_photo", "2")], out
    for endpoint, clients, requests, failed, p50, p95, worst, rate in rows:
        assert (requests, failed) == ("2", "0"), out
        assert 0 < float(p50) <= float(p95) <= float(worst) and positive(float(rate))



def test_load_test_sustained_mode_cycles_every_endpoint_and_reads_memory(tmp_path):
    """The issue's criterion (64 clients, 60 s) in miniature: every endpoint answers, nothing but 'busy'
    fails, the server's RSS is read before and after, and the JSON holds the same numbers."""
    report = tmp_path / "sustained.json"
    # A generous memory limit: 3 s on tiny models says nothing about leaks, only that RSS is read.
    out = run_bench("bench/load_test.py", "--tiny", "--duration", "3", "--clients", "4", "--max-rss-growth", "0.5",
                    "--json", str(report))
    apis = ["/generate_faces", "/sketch_to_photo", "/text_to_image", "/interpolate", "/style_mix"]
    rows = {r[0]: r for r in (line.split() for line in out.splitlines()) if r and (r[0] in apis or r[0] == "total")}
    assert set(rows) == {*apis, "total"}, out
    for name, clients, accepted, busy, other, p50, p95, worst, rate in rows.values():
        assert clients == "4" and int(accepted) > 0 and other == "0", out
        assert 0 < float(p50) <= float(p95) <= float(worst)
    assert int(rows["total"][2]) == sum(int(rows[api][2]) for api in apis)
    assert re.search(r"RSS before [\d.]+ MiB, after [\d.]+ MiB: x[\d.]+", out) and "PASS: 4 clients" in out, out
    result = json.loads(report.read_text())
    level = result["levels"][0]
    assert result["passed"] and level["total"]["other"] == 0 and set(level["endpoints"]) == {
        "faces", "sketch", "text", "interpolation", "style"}
    assert positive(level["rss_before_kib"]) and positive(level["rss_ratio"]) and positive(level["total"]["p95_s"])
    assert level["total"]["accepted"] == int(rows["total"][2])


def test_load_test_counts_only_queue_full_as_busy(monkeypatch):
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    load_test = _bench_module("load_test", monkeypatch)
    assert load_test.is_busy(QueueError("Queue is full! Please try again."))
    assert not load_test.is_busy(AppError("Queue is full"))  # an app error is a failure whatever it says
    assert not load_test.is_busy(QueueError("could not join the queue"))
    assert not load_test.is_busy(TimeoutError("timed out"))
    assert load_test.nearest_rank([float(i) for i in range(1, 21)], 0.95) == 19.0  # p95 of 20 is the 19th

def test_time_to_quality_race_scores_at_every_mark_of_training_time(monkeypatch):
    """The race's bookkeeping on a fake clock: steps of 0.2 min, scored every 0.5 of 1 training minute.

    Scoring time must not count: the fake score advances the clock by a whole minute."""
    ttq = _bench_module("time_to_quality", monkeypatch)
    clock = [0.0]
    monkeypatch.setattr(ttq.time, "perf_counter", lambda: clock[0])

    def step() -> None:
        clock[0] += 12.0

    def fake_score(generate, real, samples):
        clock[0] += 60.0
        return {"kid": 1.0 / (1 + clock[0]), "fid": 0.0, "precision": 0.0, "recall": 0.0, "diversity": 1.0}

    monkeypatch.setattr(ttq, "score", fake_score)
    rows = ttq.race("ours", step, lambda: None, real=None, minutes=1.0, every=0.5, samples=8, log=lambda _: None)
    # Each chunk steps until its mark is reached (3 steps = 0.6 min > 0.5), the last stops at the budget.
    assert [(r["minutes"], r["steps"]) for r in rows] == [(0.0, 0), (0.6, 3), (1.0, 5)]


def test_time_to_quality_scores_both_contenders_over_time(folder, tmp_path):
    # One chunk (--every = --minutes): exactly a row at 0 and one at the end, however slow a step is
    # on a loaded machine (the chunking itself is tested on a fake clock above).
    out = run_bench("bench/time_to_quality.py", "--data_dir", str(folder), "--minutes", "0.02", "--every", "0.02",
                    "--samples", "8", "--set", "tiny=true", "--set", "batch_size=4", "--reference_batch_size", "4",
                    "--out", str(tmp_path), timeout=400)
    rows = json.loads((tmp_path / "time_to_quality.json").read_text())
    for name in ("ours", "reference"):
        mine = [r for r in rows if r["contender"] == name]
        assert [r["minutes"] for r in mine][0] == 0.0 and len(mine) == 2, mine
        assert mine[-1]["steps"] > 0 and all(math.isfinite(r["kid"]) for r in mine)
        assert mine[-1]["fid"] != mine[0]["fid"], f"{name}: the trained generator scored as the initial one"
    assert (tmp_path / "time_to_quality.png").is_file() and "| reference |" in out

    # Contenders measured in separate runs are merged into one table and plot, without training.
    merged = run_bench("bench/time_to_quality.py", "--which", "", "--previous", f"batch 4={tmp_path / 'time_to_quality.json'}",
                       "--out", str(tmp_path / "merged"))
    assert "| batch 4 | 0.0 | 0 |" in merged and "| reference |" in merged and "| ours |" not in merged
    assert len(json.loads((tmp_path / "merged" / "time_to_quality.json").read_text())) == len(rows)
    assert (tmp_path / "merged" / "time_to_quality.png").is_file()


def test_live_sketch_speed_times_the_live_handler(tmp_path):
    from tiny import save_tiny_checkpoint

    model = save_tiny_checkpoint("pix2pix", tmp_path / "tiny-pix2pix")
    out = run_bench("bench/live_sketch_speed.py", "--model", str(model), "--calls", "3")
    match = re.search(r"live update median ([\d.]+) ms, p95 ([\d.]+) ms over 3 calls", out)
    assert match and positive(float(match.group(1))) and float(match.group(2)) >= float(match.group(1))


def test_thread_memory_compares_worker_threads_with_the_pool():
    out = run_bench("bench/thread_memory.py", "--threads", "3")
    rows = re.findall(r"^\s*(direct|pool): 3 threads ran the models; resident (\d+) -> (\d+) MiB", out, flags=re.MULTILINE)
    assert [r[0] for r in rows] == ["direct", "pool"], out
    assert all(int(before) > 100 for _, before, _ in rows)  # the bundled models were loaded and run


def test_caption_similarity_changes_one_attribute_per_row_and_prints_the_table():
    out = run_bench("bench/caption_similarity.py", "--gender", "female", "--ethnicity", "black")
    assert "original: 'a neutral woman in her twenties, black'" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ethnicity | a ")]
    assert [r[1] for r in rows] == ["a neutral woman in her twenties, white", "a neutral woman in her twenties, east asian",
                                    "a neutral woman in her twenties, west asian"]
    assert all(0.0 < float(r[2].rstrip(" |")) < 1.0 for r in rows)  # changed captions, never the original
    assert "| gender | a neutral man in his twenties, black |" in out
    assert "| ethnicity | black | east asian |" in out and "| gender | woman | man |" in out
    assert "Mean embedding shift" not in out  # the pooling table only on request


def test_caption_similarity_pooling_table_compares_three_encodings_over_the_metadata():
    out = run_bench("bench/caption_similarity.py", "--pooling")
    assert "| attribute | values | sentence (the model's) | words, mean | words, max |" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ") and " / " in line.split(" | ")[1]]
    assert [r[1] for r in rows] == ["female / male", "neutral / smiling", "white / black", "white / east_asian", "24 / 47"]
    assert all(0.0 < float(v.rstrip(" |")) < 3.0 for r in rows for v in r[2:])
    assert "(204 rows)" in out  # every row of the vendored metadata has all four attributes


def test_condition_noise_reports_every_attribute_pair_of_the_bundled_text_model():
    out = run_bench("bench/condition_noise.py", "--json")
    result = last_json(out)
    pairs = [(r["attribute"], r["values"]) for r in result["signal"]]
    assert pairs == [("gender", "female / male"), ("expression", "neutral / smiling"), ("ethnicity", "white / black"),
                     ("ethnicity", "white / east_asian"), ("ethnicity", "white / west_asian"), ("age", "24 / 47")]
    for r in result["signal"]:
        assert positive(r["mu_shift"]) and positive(r["noise_along_shift"]) and r["noise_along_shift"] < r["noise"]
        assert r["ratio"] == pytest.approx(r["mu_shift"] / r["noise_along_shift"])
    by_attribute = {r["attribute"]: r["ratio"] for r in result["signal"]}
    assert by_attribute["gender"] > by_attribute["ethnicity"]  # the word the model follows is the louder one
    assert "| expression | neutral / smiling |" in out and result["faithfulness"] == []


def test_prompt_wording_reads_each_prompt_of_both_files_with_the_evaluation_probes(tmp_path):
    out_json = tmp_path / "wording.json"
    out = run_bench("bench/prompt_wording.py", "--per_prompt", "2", "--json", str(out_json), timeout=600)
    (result,) = json.loads(out_json.read_text()).values()
    assert sorted(result) == ["dev.tsv", "users.tsv"]
    for file, count in (("dev.tsv", 16), ("users.tsv", 24)):
        block = result[file]
        assert len(block["prompts"]) == count and set(block["accuracy"]) == {"gender", "expression"}
        assert all(0.0 <= row["read_as_woman"] <= 1.0 and 0.0 <= row["read_as_smiling"] <= 1.0 for row in block["prompts"])
        # The bundled model draws the asked-for gender (card: 1.00 / 0.98): a reading that lost the
        # prompt order, or read the wrong probe, would land near 0.5.
        assert block["accuracy"]["gender"] > 0.8
        assert f"{file} ({count} prompts)" in out


def test_prompt_wording_files_are_balanced_and_malformed_lines_are_refused(tmp_path, monkeypatch):
    bench = _bench_module("prompt_wording", monkeypatch)
    for path in bench.DEFAULT_PROMPTS:
        asked = [tuple(w.values()) for _, w in bench.read_prompts(path)]
        assert len(set(asked)) == 4 and len({asked.count(a) for a in set(asked)}) == 1, path.name
    bad = tmp_path / "bad.tsv"
    bad.write_text("# comment\nwoman\tsmiling\n")
    with pytest.raises(SystemExit, match="bad.tsv:2"):
        bench.read_prompts(bad)


def test_caption_readout_builds_every_wording_and_reads_prompts_with_a_caption_fit_probe(monkeypatch):
    bench = _bench_module("caption_readout", monkeypatch)
    cfg = bench.load_text_config(ROOT / "training/configs/text2face-64.yaml", bench.DEFAULT_METADATA)
    rows = bench.training_captions(cfg, bench.DEFAULT_METADATA)
    # Each row in the template's wording and every paraphrase, labelled from its own row.
    assert all(len(wordings) == 1 + len(cfg.caption_paraphrases) for wordings, _ in rows)
    by_text = {c: w for wordings, w in rows for c in wordings}
    assert by_text["a smiling woman in her twenties, white"] == {"gender": "woman", "expression": "smiling"}
    assert any(c.startswith("male adult, expressionless") and w == {"gender": "man", "expression": "neutral"} for c, w in by_text.items())

    out = run_bench("bench/caption_readout.py", "--config", "training/configs/text2face-64.yaml",
                    "--config", "training/configs/text2face-64-words.yaml")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in out.splitlines() if line.startswith("| text2face")}
    assert set(rows) == {"text2face-64.yaml", "text2face-64-words.yaml"}
    scores = {name: [float(c) for c in line.strip(" |").split(" | ")[2:]] for name, line in rows.items()}
    assert all(len(s) == 6 and all(0.0 <= v <= 1.0 for v in s) for s in scores.values())
    # Gender is in every caption's wording, so a probe fit on the captions reads it on every prompt
    # block; a probe fit on shuffled labels, or prompts read in the wrong order, would sit near 0.5.
    assert all(s[0] == s[2] == s[4] == 1.0 for s in scores.values())
    # More expression words give the probe more to generalise from on the independent users' prompts.
    assert scores["text2face-64-words.yaml"][5] > scores["text2face-64.yaml"][5]

    # Wording noise: one row per value; 0 is the plain probe, and the offsets, which carry no
    # attribute, leave gender read on every block while moving what the probe reads elsewhere.
    out = run_bench("bench/caption_readout.py", "--wording_noise", "0", "3")
    noisy = {line.split(" | ")[0].lstrip("| "): [float(c) for c in line.strip(" |").split(" | ")[2:]]
             for line in out.splitlines() if line.startswith("| text2face")}
    assert noisy["text2face-64.yaml, wording noise 0"] == scores["text2face-64.yaml"]
    assert noisy["text2face-64.yaml, wording noise 3"][0:5:2] == [1.0, 1.0, 1.0]
    assert noisy["text2face-64.yaml, wording noise 3"] != scores["text2face-64.yaml"]


def test_truncation_tradeoff_scores_each_psi_as_the_evaluation_does(checkpoint, monkeypatch, tmp_path):
    from PIL import Image

    from training import evaluate

    bench = _bench_module("truncation_tradeoff", monkeypatch)
    run, folder = checkpoint
    cache, out = run.parent / "cache", tmp_path / "truncation"
    assert bench.main(["--model", str(run), "--psi", "1.0", "--psi", "0.0", "--num_samples", "16",
                       "--data_dir", str(folder), "--cache_dir", str(cache), "--out", str(out)]) == 0
    untruncated, average = json.loads((out / "truncation.json").read_text())
    assert (untruncated["psi"], average["psi"]) == (1.0, 0.0)
    # psi 1 is the model as the cards score it: the same latents give the scorecard's numbers.
    card = evaluate.evaluate(run, str(folder), str(cache), num_samples=16)
    assert untruncated["kid"] == pytest.approx(card["kid_mean"])
    assert (untruncated["precision"], untruncated["recall"]) == (card["precision"], card["recall"])
    # psi 0 pulls every latent onto the average: one image, so no variety and no recall.
    assert average["diversity"] == pytest.approx(0.0, abs=1e-6) and average["recall"] == 0.0
    assert untruncated["diversity"] > 0.01
    table = (out / "table.md").read_text()
    assert f"| {run} | 1.00 |" in table and f"| {run} | 0.00 |" in table
    with Image.open(out / "samples.png") as grid:
        assert grid.width == len(bench.PICTURE_SEEDS) * grid.height // 2  # two rows (psi) of square images
    assert (out / "tradeoff.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="repeat"):
        bench.check_psis([0.7, 0.7])
    with pytest.raises(ValueError, match="between 0 and 1"):
        bench.check_psis([1.5])
