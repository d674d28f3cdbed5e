"""The ``jconv`` command, run in-process through `jconv.cli.main` (one subprocess test
checks ``python -m jconv``): explain (text, JSON, bad shapes, invalid layers), bench
(the list, unknown cases, a tiny timed run), prove (one quick real proof, a failing
one, unknown names) and the hand-over to calibrate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jconv
from jconv import _prove
from jconv.cli import main, parse_shape

ROOT = Path(__file__).resolve().parent.parent


# -- explain -----------------------------------------------------------------------------


def test_explain_prints_the_plan(capsys):
    rc = main(["explain", "8x64x56x56", "64x64x3x3", "--stride", "1", "--padding", "same",
               "--groups", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    expected = jconv.explain((8, 64, 56, 56), (64, 64, 3, 3), stride=1, padding="same", groups=1)
    assert out.rstrip("\n") == str(expected)
    assert "forward: chosen" in out and "kernel_grad: chosen" in out


def test_explain_json_per_dimension_arguments(capsys):
    rc = main(["explain", "2x8x9x10", "8,4,3,2", "--stride", "2,1", "--padding", "0:1,1:1",
               "--groups", "2", "--dtype", "float64", "--platform", "cpu", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0
    plan = jconv.explain((2, 8, 9, 10), (8, 4, 3, 2), stride=(2, 1), padding=((0, 1), (1, 1)),
                         groups=2, dtype="float64", platform="cpu")
    assert data["description"] == plan.description and data["platform"] == "cpu"
    assert [p["role"] for p in data["passes"]] == ["forward", "input_grad", "kernel_grad"]
    for p in data["passes"]:
        assert p["chosen"] == plan[p["role"]].chosen
        assert p["y_shape"] == list(plan[p["role"]].spec.y_shape)
        assert [c["name"] for c in p["candidates"]] == list(jconv.algorithms())
        chosen = [c for c in p["candidates"] if c["name"] == p["chosen"]][0]
        assert chosen["reason"] is None and chosen["seconds"] > 0


def test_explain_transpose(capsys):
    rc = main(["explain", "1x4x5x5", "4x2x4x4", "--transpose", "--stride", "2", "--padding", "1",
               "--output-padding", "1", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and data["description"].startswith("jconv.conv_transpose")


def test_explain_bad_shape_is_an_error(capsys):
    rc = main(["explain", "8x64xa", "64x64x3x3"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "argument x_shape: invalid shape '8x64xa'" in err and "usage: jconv explain" in err


def test_parse_shape():
    assert parse_shape("8x64x56x56") == (8, 64, 56, 56)
    assert parse_shape("3,4") == (3, 4)
    for bad in ("", "8x", "x8", "8x-1", "8xy", "8.5x2"):
        try:
            parse_shape(bad)
        except Exception as e:
            assert "invalid shape" in str(e)
        else:
            raise AssertionError(f"{bad!r} parsed")


def test_explain_invalid_layer_is_an_error(capsys):
    rc = main(["explain", "8x6x56x56", "64x64x3x3", "--groups", "4"])
    err = capsys.readouterr().err
    assert rc == 2 and "x has 6 input channels, which groups=4 does not divide" in err
    rc = main(["explain", "8x64x56x56", "64x64x3x3", "--output-padding", "1"])
    assert rc == 2 and "--output-padding needs --transpose" in capsys.readouterr().err


# -- bench -------------------------------------------------------------------------------


def test_bench_list(capsys):
    from jconv._bench import BY_NAME

    assert main(["bench", "--list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == list(BY_NAME) and {"dense3x3", "depthwise3x3", "grouped", "tiny"} <= set(names)
    assert main(["bench", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in listed] == names and all(c["flops"] > 0 for c in listed)


def test_bench_unknown_case_is_an_error(capsys):
    rc = main(["bench", "tiny", "nope"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown case nope; valid cases: dense3x3, pointwise" in err and "tiny" in err
    assert main(["bench", "tiny", "--algorithms", "nope"]) == 2
    assert "unknown algorithms nope; valid: xla" in capsys.readouterr().err


def test_bench_tiny_json(capsys):
    rc = main(["bench", "tiny", "--repeats", "1", "--json"])
    captured = capsys.readouterr()
    assert rc == 0
    data = json.loads(captured.out)  # stdout is the JSON and nothing else
    assert "bench [" in captured.err and "2/2" in captured.err  # the progress line
    assert data["meta"]["repeats"] == 1
    r = data["cases"]["tiny"]
    assert set(r["plan"].values()) <= set(jconv.algorithms())
    assert set(r["passes"]) == {"forward", "forward+backward"}
    for pass_name, timings in r["passes"].items():
        assert {"jconv", "jax.lax"} <= set(timings)
        for t in timings.values():
            assert t["runs"] == 1 and isinstance(t["median"], float) and t["median"] > 0
        ratios = r["ratios"][pass_name]
        assert set(ratios) == set(timings) - {"jconv"}
        for peer, ratio in ratios.items():
            assert ratio == timings["jconv"]["median"] / timings[peer]["median"]
        assert r["first_call"][pass_name] > 0


# -- prove -------------------------------------------------------------------------------


def test_proofs_are_found_in_the_checkout():
    assert _prove.proofs_dir() == ROOT / "proofs"
    names = [p.stem for p in _prove.discover(_prove.proofs_dir())]
    assert "shapes" in names and "run_all" not in names and "_common" not in names


def test_prove_reports_a_failing_proof(capsys, tmp_path):
    (tmp_path / "run_all.py").write_text("raise SystemExit('the runner must not be run')\n")
    (tmp_path / "_helper.py").write_text("raise SystemExit('a helper must not be run')\n")
    (tmp_path / "good.py").write_text('"""A statement that holds."""\nprint("fine")\n')
    (tmp_path / "bad.py").write_text(textwrap.dedent('''
        """A statement that fails."""
        import sys
        print("counterexample: n = 3")
        sys.exit(1)
    '''))
    rc = main(["prove", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "1 of 2 proofs hold; FAILED: bad" in out and "counterexample: n = 3" in out
    assert "A statement that holds" in out and "helper" not in out
    rc = main(["prove", "--dir", str(tmp_path), "--json", "good"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and [r["name"] for r in data["proofs"]] == ["good"]


def test_prove_unknown_name_is_an_error(capsys):
    rc = main(["prove", "shapes", "nope"])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown proofs ['nope']; available: [" in err and "'shapes'" in err


# -- the rest ----------------------------------------------------------------------------


def test_calibrate_is_handed_over(capsys):
    assert main(["calibrate", "--help"]) == 0
    assert "python -m jconv.calibrate" in capsys.readouterr().out
    assert main(["calibrate", "--no-such-option"]) == 2


def test_bad_command_is_an_error(capsys):
    assert main(["nonsense"]) == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err
    assert main([]) == 2


def test_python_m_jconv_help():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                     os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "jconv", "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for command in ("prove", "bench", "explain", "calibrate"):
        assert command in proc.stdout
    assert proc.stdout.startswith("usage: jconv")
