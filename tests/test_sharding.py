"""Sharded convolutions (8 host devices, in one subprocess): results and collectives.

`sharded_cases.py` compiles, for each layer and sharding of its table and each
algorithm, one program with the output and both gradients, over a mesh of 8 host
devices, and the same program written with `jax.lax`. Sharding must not change the
results, must keep the outputs sharded as lax keeps them, and must not add
collectives (see `test_no_more_collectives_than_lax`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("sharding") / "rows.json"
    proc = subprocess.run([sys.executable, str(HERE / "sharded_cases.py"), "--test-plan",
                           "--json", str(out)], capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def _ran(rows):
    return [r for r in rows if "refused" not in r]


def test_every_case_and_algorithm_ran(rows):
    sys.path.insert(0, str(HERE))
    from sharded_cases import TEST_PLAN

    assert sorted((r["case"], r["algorithm"]) for r in rows) == sorted(
        (c, a) for c, algs in TEST_PLAN.items() for a in algs)
    assert all(r["algorithm"] != "auto" for r in rows if "refused" in r)
    # a forced algorithm refuses a sharded layer only where it refuses it unsharded
    assert all(r["refused_unsharded"] for r in rows if "refused" in r)
    # the batch split runs every algorithm that computes the layer at all
    assert {r["algorithm"] for r in _ran(rows) if r["case"] == "2d-batch"} >= {
        "auto", "xla", "taps", "im2col", "col2im", "fft", "winograd"}


def test_sharding_does_not_change_results(rows):
    bad = [(r["case"], r["algorithm"], r["err"]) for r in _ran(rows) if r["err"] > 1e-11]
    assert not bad


def test_outputs_keep_the_operands_sharding(rows):
    """y and dx are sharded as lax shards them (batch, channels, groups, spatial)."""
    bad = [(r["case"], r["algorithm"], r["shardings"][:2], r["lax_shardings"][:2])
           for r in _ran(rows) if r["shardings"][:2] != r["lax_shardings"][:2]]
    assert not bad


def test_no_more_collectives_than_lax(rows):
    """Never more all-gathers than lax. Where lax gathers an operand, jconv may reduce a
    partial result instead (one all-reduce) or exchange a halo (two permutes)."""
    sys.path.insert(0, str(HERE))
    from sharded_cases import WHOLE_AXIS

    bad = []
    for r in _ran(rows):
        if (r["case"], r["algorithm"]) in WHOLE_AXIS:
            continue
        (g, a, p), (lg, la, lp) = (
            (c["all-gather"], c["all-reduce"], c["collective-permute"])
            for c in (r["jconv"], r["lax"]))
        if g > lg or a > la + lg or p > lp + 2 * lg:
            bad.append((r["case"], r["algorithm"], r["jconv"], r["lax"]))
    assert not bad
