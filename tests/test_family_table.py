"""zoo/families.py is the one table of families and tasks: a new row reaches every layer that lists families."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest_hub import write_fake_checkpoint
from model_cards.render import render_model_card
from training.config import ConfigError, build_config
from zoo import families, registry
from ui.catalog import build_catalog
from ui.tabs.model_info import model_info
from zoo.cli import main as cli_main

TOY = families.FamilySpec(
    name="toygan", display_name="ToyGAN", task=families.UNCONDITIONAL, module="zoo.models.toygan",
    generator_class="ToyGenerator", discriminator_class="ToyDiscriminator",
    description="A toy family that exists only in this test.", truncation=True,
)


@pytest.fixture
def toy(monkeypatch, tmp_path: Path) -> Path:
    """The toy family's row plus its own files (a bundled checkpoint of it); nothing else is edited."""
    monkeypatch.setattr(families, "FAMILIES", dict(families.FAMILIES))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "PRETRAINED_DIR", tmp_path)
    families.register_family(TOY)
    root = write_fake_checkpoint(tmp_path / "toy-32", "toygan", weights=True)
    registry.register(registry.ModelEntry("toy-32", TOY.task, "toygan", "toy-32", "a toy model"))
    return root


def test_every_table_row_is_complete_and_consistent():
    for spec in families.FAMILIES.values():
        assert spec.task in families.TASKS
        generator = families.model_class(spec, "generator")
        assert generator.__name__ == spec.generator_class
        assert families.family_of_generator(spec.generator_class) is spec
        assert families.model_class(spec, "discriminator").__name__ == spec.discriminator_class
    for task in families.TASKS.values():
        assert families.task_of_pipeline(task.pipeline_class) == task.id
        code = families.python_usage(task.id, "org/name", revision="v1")
        compile(code, "usage", "exec")
        assert f'{task.pipeline_class}.from_pretrained("org/name", revision="v1")' in code


def test_noise_model_snippets_sample_at_the_family_suggested_psi():
    """Cards and the Models tab show code at the psi the app starts at: truncation only hurts a DCGAN
    (README, the truncation table), so its snippet must not truncate."""
    assert families.family("dcgan").suggested_psi == 1.0 and families.family("stylegan").suggested_psi == 0.7
    for name in ("dcgan", "stylegan"):
        psi = families.family(name).suggested_psi
        for code in (families.python_usage(families.UNCONDITIONAL, "org/name", psi=psi),
                     families.diffusers_usage(families.UNCONDITIONAL, "org/name", psi=psi)):
            compile(code, "usage", "exec")
            assert f"truncation_psi={psi!r})" in code and "{psi}" not in code
    card = (Path(__file__).resolve().parents[1] / "zoo" / "pretrained" / "faces-projected-64" / "README.md")
    if card.is_file():  # the bundled DCGAN's card, rendered with its family's psi
        assert "truncation_psi=1.0)" in card.read_text() and "truncation_psi=0.7" not in card.read_text()


def test_unknown_family_or_task_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="known tasks"):
        families.register_family(families.FamilySpec("x", "X", "video-generation", "m", "G", "D", "d"))
    with pytest.raises(ValueError, match="family must be one of dcgan, stylegan, fastgan, pix2pix, textgan"):
        registry.register(registry.ModelEntry("x", families.UNCONDITIONAL, "nope", "x", "d"))


def test_a_new_family_row_reaches_registry_cli_card_and_config(toy: Path, capsys):
    assert registry.get_entry("toy-32").location == str(toy)
    assert registry.task_of(toy) == families.UNCONDITIONAL

    assert cli_main(["list"]) == 0
    listing = capsys.readouterr().out
    assert any(line.split()[:4] == ["toy-32", families.UNCONDITIONAL, "toygan", "ready"] for line in listing.splitlines())

    card = render_model_card(toy, repo_id="org/toy-32")
    assert card.data.pipeline_tag == families.UNCONDITIONAL and "toygan" in card.data.tags
    assert "ToyGAN" in card.text and TOY.description in card.text
    assert "python -m zoo sample --model org/toy-32" in card.text
    card.save(toy / "README.md")

    # The app's Models tab lists it with its card, family and the usage code of its task.
    catalog = build_catalog()
    assert "toy-32" in [key for _, key in catalog.dropdown()]
    shown_card, _, _, facts, snippet = model_info(catalog, "toy-32")
    assert TOY.description in shown_card
    assert "**Family:** ToyGAN (`toygan`)" in facts and f"**Task:** {families.UNCONDITIONAL}" in facts
    assert 'load_pipeline("toy-32")' in snippet

    # The trainer's config validation knows the new name from the table (its training adapter would be
    # the family's own file): an unknown family is refused listing it, the toy one gets past that check.
    with pytest.raises(ConfigError, match="family must be one of dcgan, stylegan, fastgan, pix2pix, textgan, toygan"):
        build_config({"family": "nope"}, {})
    with pytest.raises(ConfigError, match="data source"):
        build_config({"family": "toygan"}, {})
