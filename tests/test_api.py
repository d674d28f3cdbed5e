"""The public surface: documented, thin, and importable without SymPy."""

import ast
import doctest
import pathlib
import re
import subprocess
import sys

import pytest

import jconv
from jconv import _conv, _select

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _public_functions():
    """(qualified name, function) of every public function, jconv.lax's included."""
    return [(f"jconv.{name}", getattr(jconv, name)) for name in jconv.__all__] + [
        (f"jconv.lax.{name}", getattr(jconv.lax, name)) for name in jconv.lax.__all__
    ]


def test_every_public_name_has_a_docstring_with_an_example():
    for name, obj in _public_functions():
        doc = obj.__doc__
        assert doc and "Example" in doc and ">>>" in doc, name


def test_docstring_examples_run():
    for module in (_conv, _select, jconv.lax):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0


def test_every_public_name_is_in_the_api_reference():
    """docs/api.md has a mkdocstrings entry (``::: name``) for every public name."""
    api = (ROOT / "docs" / "api.md").read_text()
    for name, _ in [*_public_functions(), ("jconv.lax", None), ("jconv.symbolic", None)]:
        assert re.search(rf"^::: {re.escape(name)}$", api, re.M), name


def test_init_only_reexports():
    tree = ast.parse((ROOT / "jconv" / "__init__.py").read_text())
    for node in tree.body:
        ok = (
            isinstance(node, ast.ImportFrom)
            or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))  # docstring
            or (isinstance(node, ast.Assign) and node.targets[0].id in ("__version__", "__all__"))
            or (isinstance(node, ast.FunctionDef) and node.name == "__getattr__")  # lazy submodule
        )
        assert ok, ast.dump(node)[:200]


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text().splitlines()
    block = readme[readme.index("```bash") + 1: readme.index("```bash") + 3]
    assert block[0].startswith("pip install") and block[0].endswith("python -m jconv prove")
    assert block[1].startswith("pip install") and "pytest" in block[1]


@pytest.mark.slow
def test_demo_runs():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "conv_kernel_grad agrees with jax.grad: True" in out.stdout
    assert "chosen" in out.stdout


# example -> (a line it prints once its checks pass, the optional modules it imports)
EXAMPLES = {
    "fir_filter.py": ("relative difference to SciPy in float64", ["scipy"]),
    "average_pooling.py": ("algorithms (forward / input gradient / kernel gradient)", []),
    "lenet_digits.py": ("test accuracy", ["optax", "sklearn"]),
    "flax_nnx.py": ("test accuracy", ["flax", "optax", "sklearn"]),
    "equinox_model.py": ("test accuracy", ["equinox", "optax", "sklearn"]),
    "symbolic_walkthrough.py": ("all checks passed", ["sympy"]),
    "data_parallel.py": ("step time jconv / lax", []),
    "volume_sharded.py": ("per device", []),
}


def test_every_example_is_run():
    names = {p.name for p in (ROOT / "examples").glob("*.py")} - {"demo.py"}
    assert names == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_run_and_check_themselves(name):
    """Each example asserts its own results (against SciPy, jax.lax, Flax's and Equinox's
    layers, the symbolic matrices, a test accuracy); a failed check fails the run. An
    example whose optional dependencies are missing is skipped."""
    expected, modules = EXAMPLES[name]
    for module in modules:
        pytest.importorskip(module)
    out = subprocess.run([sys.executable, str(ROOT / "examples" / name)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert expected in out.stdout
