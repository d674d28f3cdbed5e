"""The proof scripts: all of them run once through ``jconv prove`` (quick sizes) and
hold; each checks every registered algorithm; a fault makes a proof exit non-zero;
run_all discovers, tabulates and reports; and ``import jconv`` does not import SymPy."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import jconv

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "proofs"
SCRIPTS = sorted(p for p in PROOFS.glob("*.py")
                 if p.name != "run_all.py" and not p.name.startswith("_"))
REQUIRED = {"linearity", "commutativity", "associativity", "convolution_theorem", "adjoint",
            "groups", "translation_equivariance", "matrix_form", "fc_layer", "shapes"}


def run(args, env=None, cwd=ROOT, timeout=300):
    full_env = dict(os.environ)
    full_env.pop("JCONV_PROOF_QUICK", None)
    full_env.pop("JCONV_PROOF_JSON", None)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                           os.environ.get("PYTHONPATH")]))
    full_env.update(env or {})
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def test_every_required_family_has_a_script():
    assert REQUIRED <= {p.stem for p in SCRIPTS}


@pytest.fixture(scope="module")
def proved(tmp_path_factory):
    """Every proof at quick sizes, run once as a user runs them: ``python -m jconv prove
    --quick --json --report`` (one subprocess; the runner shares its worker processes)."""
    report = tmp_path_factory.mktemp("proofs") / "proofs.md"
    proc = run(["-m", "jconv", "prove", "--quick", "--json", "--report", report], timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout), report.read_text(), proc.stderr


@pytest.fixture(scope="module")
def records(proved):
    return {r["name"]: r for r in proved[0]["proofs"]}


def test_prove_summarises_and_reports_every_proof(proved):
    data, report, progress = proved
    names = sorted(p.stem for p in SCRIPTS)
    assert data["quick"] is True and data["failed"] == [] and data["holds"] == len(names)
    assert sorted(r["name"] for r in data["proofs"]) == names
    assert f"{len(names)}/{len(names)}" in progress  # the progress lines go to stderr
    assert "## shapes: Output sizes" in report and "all sizes (symbolic)" in report
    assert all(f"## {name}:" in report for name in names)


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_proof_script_holds_at_quick_sizes(script, records):
    record = records[script.stem]
    assert record["rc"] == 0, record["output"][-3000:]
    if script.stem not in REQUIRED:  # a proof written elsewhere: it must pass, that is all
        return
    assert "THEOREM:" in record["output"] and "SUMMARY:" in record["output"]
    assert record["status"] == "holds" and record["results"]
    names = " ".join(r["name"] for r in record["results"])
    for alg in jconv.algorithms():  # the registry, read now: new algorithms are included
        assert f"[{alg}]" in names, f"{script.stem} does not check algorithm {alg!r}"
    for r in record["results"]:
        assert r["holds"] in (True, None), r
        if r["holds"] is None:
            assert "skipped" in r["details"]
        assert r["scope"] == "all sizes (symbolic)" or r["scope"].startswith(
            ("verified for sizes", "skipped"))


@pytest.mark.parametrize("script", [p for p in SCRIPTS if p.stem in REQUIRED],
                         ids=[p.stem for p in SCRIPTS if p.stem in REQUIRED])
def test_script_states_theorem_and_has_main(script):
    tree = ast.parse(script.read_text())
    doc = ast.get_docstring(tree)
    assert doc and len(doc.splitlines()[0]) > 20
    mains = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "main"]
    assert mains and [a.arg for a in mains[0].args.args] == ["argv"]
    assert mains[0].args.defaults and isinstance(mains[0].args.defaults[0], ast.Constant)


FAULTS = {
    # the convolve of every algorithm becomes a correlation (the kernel is not flipped)
    "commutativity": """
        import jconv
        _correlate = jconv.correlate
        def convolve(a, b, mode="full", *, axes=None, method="auto"):
            return _correlate(a, b, mode, axes=axes, method=method)
        jconv.convolve = convolve
    """,
    # grouped convs map output channel o to group o % G
    "groups": """
        import jax.numpy as jnp
        import jconv
        _conv = jconv.conv
        def conv(x, w, bias=None, *, groups=1, **kw):
            if groups == 1:
                return _conv(x, w, bias, **kw)
            cg = x.shape[1] // groups
            parts = [_conv(x[:, g * cg:(g + 1) * cg], w[g::groups], **kw) for g in range(groups)]
            y = jnp.stack(parts, axis=2)
            return y.reshape(y.shape[0], -1, *y.shape[3:])
        jconv.conv = conv
    """,
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_fault_makes_the_proof_fail(name, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(FAULTS[name]))
    env = {"JCONV_PROOF_QUICK": "1", "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = run([PROOFS / f"{name}.py", "--algorithms", "xla"], env=env)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "FAILS" in proc.stdout and "FAILED:" in proc.stdout


def test_unknown_algorithm_is_an_error():
    proc = run([PROOFS / "shapes.py", "--quick", "--algorithms", "nonexistent"])
    assert proc.returncode != 0 and "unknown algorithms" in proc.stdout + proc.stderr


def test_run_all_discovers_tabulates_and_reports(tmp_path):
    work = tmp_path / "proofs"
    work.mkdir()
    for name in ("run_all.py", "_common.py"):
        shutil.copy(PROOFS / name, work / name)
    (work / "_helper.py").write_text("raise SystemExit('a helper must not be run')\n")
    template = textwrap.dedent('''
        """{title}."""
        import sys
        from _common import Proof, parse, parser
        from jconv.symbolic import CheckResult

        def main(argv=None):
            args = parse(parser(__doc__, {{"n": (5, 2, "size")}}), argv)
            proof = Proof(__doc__, f"n = {{args.n}}")
            proof.check(CheckResult("demo", "1 + 1 = 2", {holds}, CheckResult.ALL_SIZES, "by hand", 0.0,
                                    r"1 + 1 = 2"))
            return proof.finish(args)

        if __name__ == "__main__":
            sys.exit(main())
    ''')
    (work / "good.py").write_text(template.format(title="A statement that holds", holds=True))
    (work / "bad.py").write_text(template.format(title="A statement that fails", holds=False))
    report = tmp_path / "report.md"
    proc = run([work / "run_all.py", "--quick", "--report", report], cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "[ 2/2]" in out and "helper" not in out
    assert "A statement that holds" in out and "A statement that fails" in out
    assert "1 of 2 proofs hold; FAILED: bad" in out
    text = report.read_text()
    assert "| good | A statement that holds | all sizes (symbolic) + verified for n = 2" in text
    assert "$$ 1 + 1 = 2 $$" in text
    only_good = run([work / "run_all.py", "good"], cwd=tmp_path)
    assert only_good.returncode == 0 and "1 of 1 proofs hold" in only_good.stdout


def test_import_jconv_does_not_import_sympy():
    code = textwrap.dedent("""
        import sys
        import jconv
        assert "sympy" not in sys.modules, "import jconv imported sympy"
        import jax.numpy as jnp
        jconv.conv(jnp.ones((1, 1, 4)), jnp.ones((1, 1, 2)))
        assert "sympy" not in sys.modules, "calling jconv.conv imported sympy"
        assert jconv.symbolic.conv_matrix is not None and "sympy" in sys.modules
        from jconv import symbolic
        assert symbolic is jconv.symbolic
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
