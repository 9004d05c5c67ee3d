"""The code a published model repo carries, so plain diffusers can load it with ``trust_remote_code=True``.

A repo that names ``zoo.models...`` in its ``model_index.json`` is useless to anyone without this
project. Publishing therefore adds one generated module, ``gan_zoo_code.py``, at the repo root (the
custom pipeline) and in ``generator/`` (the custom component), and points ``model_index.json`` at
it. The module embeds this package's own model and pipeline sources (compressed, so diffusers'
import scan sees only the standard library) and serves them as the private package ``gan_zoo_hub``:
the same code, hence the same pixels for the same seed, with nothing to install but torch,
diffusers and safetensors.

GAN Zoo's own loader never runs that file: it reads the class names and uses its own classes.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

from zoo import families

#: Module name of the generated file (the ``library`` that model_index.json names).
REMOTE_MODULE = "gan_zoo_code"
#: The private package the embedded sources are served as (never ``zoo``, which may be installed too).
REMOTE_PACKAGE = "gan_zoo_hub"
_ROOT = Path(__file__).resolve().parent
#: Files a model needs at inference time: no CLI, registry, Hub client, photo alignment (OpenCV) or
#: discriminator-only code.
_LEFT_OUT = {"cli.py", "__main__.py", "registry.py", "hub.py", "hub_code.py", "onnx_export.py", "projected.py",
             "face_align.py"}

_TEMPLATE = '''"""GAN Zoo model code for diffusers (trust_remote_code): generated on publishing; do not edit.

Serves the GAN Zoo sources below as the package ``{package}`` and exports its generator and pipeline
classes, so ``DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)`` works without GAN Zoo.
"""

import base64
import importlib
import importlib.abc
import importlib.util
import sys
import zlib

_SOURCES = {sources}
_PACKAGES = {packages}


class _EmbeddedSources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    gan_zoo_hub = True

    def find_spec(self, name, path=None, target=None):
        if name in _SOURCES:
            return importlib.util.spec_from_loader(name, self, is_package=name in _PACKAGES)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source = zlib.decompress(base64.b64decode(_SOURCES[module.__name__])).decode("utf-8")
        exec(compile(source, "<" + module.__name__ + ">", "exec"), module.__dict__)


if not any(getattr(finder, "gan_zoo_hub", False) for finder in sys.meta_path):
    sys.meta_path.insert(0, _EmbeddedSources())

for _module, _names in {exports}.items():
    for _name in _names:
        globals()[_name] = getattr(importlib.import_module(_module), _name)
'''


def _module_name(path: Path) -> str:
    parts = path.relative_to(_ROOT).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join((REMOTE_PACKAGE, *parts))


def _sources() -> tuple[dict[str, str], list[str]]:
    sources, packages = {}, []
    for path in sorted([*_ROOT.glob("*.py"), *_ROOT.glob("models/*.py"), *_ROOT.glob("pipelines/*.py")]):
        if path.name in _LEFT_OUT:
            continue
        # The embedded package must not import an installed ``zoo``: its own imports point at itself.
        text = path.read_text(encoding="utf-8").replace("from zoo.", f"from {REMOTE_PACKAGE}.").replace(
            "from zoo import", f"from {REMOTE_PACKAGE} import").replace('"zoo.', f'"{REMOTE_PACKAGE}.')
        name = _module_name(path)
        sources[name] = base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
        if path.name == "__init__.py":
            packages.append(name)
    return sources, packages


def remote_code() -> str:
    """The generated module: embedded sources plus every generator and pipeline class as attributes."""
    sources, packages = _sources()
    exports: dict[str, list[str]] = {}
    for spec in families.FAMILIES.values():
        exports.setdefault(spec.module.replace("zoo.", f"{REMOTE_PACKAGE}.", 1), []).append(spec.generator_class)
    pipelines = [t.pipeline_class for t in families.TASKS.values()] + [v for t in families.TASKS.values() for v in t.views]
    exports[f"{REMOTE_PACKAGE}.pipelines"] = pipelines
    return _TEMPLATE.format(package=REMOTE_PACKAGE, sources=json.dumps(sources, indent=0),
                            packages=json.dumps(packages), exports=json.dumps(exports))


def hub_files(folder: Path) -> dict[str, bytes]:
    """What publishing adds to (or changes in) a checkpoint directory: the code and the index pointing at it."""
    index = json.loads((folder / "model_index.json").read_text())
    code = remote_code().encode("utf-8")
    files = {f"{REMOTE_MODULE}.py": code}
    index["_class_name"] = [REMOTE_MODULE, families.pipeline_class_name(index["_class_name"])]
    for name, spec in list(index.items()):
        if not name.startswith("_") and isinstance(spec, list) and len(spec) == 2 and spec[0]:
            index[name] = [REMOTE_MODULE, spec[1]]
            files[f"{name}/{REMOTE_MODULE}.py"] = code
    files["model_index.json"] = (json.dumps(index, indent=2) + "\n").encode("utf-8")
    return files

