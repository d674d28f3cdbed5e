"""Every algorithm x every case x every pass, against the NumPy direct sums of reference.py.

The passes: the forward `jconv.conv`, the public VJPs `jconv.conv_input_grad` and
`jconv.conv_kernel_grad`, and reverse-mode differentiation of `jconv.conv` under `jit`.
A forced algorithm that cannot run a pass raises `jconv.AlgorithmRefused` and the test
is skipped; `test_every_algorithm_runs_every_pass_somewhere` guards against a case list
that would let an algorithm or one of its passes go untested. The algorithm files (test_fft.py,
test_winograd.py, ...) keep only what is specific to one algorithm.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference import close, conv_ref, vjp_ref

import jconv

ALGORITHMS = jconv.algorithms()
PASSES = ("forward", "input_grad", "kernel_grad", "jax_grad")

# name: (x shape, w shape, `jconv.conv` keyword arguments; padding as (low, high) pairs)
CASES = {
    "1d-groups-negative-padding": ((2, 4, 11), (2, 2, 5), dict(padding=((4, -2),), groups=2)),
    "1d-strided-dilated": ((2, 3, 23), (4, 3, 4), dict(stride=3, padding=((1, 2),), dilation=2)),
    "2d-strided-dilated-groups": ((2, 4, 9, 8), (6, 2, 3, 2), dict(
        stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2)),
    "2d-groups": ((2, 4, 10, 9), (6, 2, 3, 3), dict(padding=((1, 1), (1, 1)), groups=2)),
    "2d-depthwise-7x7": ((1, 6, 11, 11), (6, 1, 7, 7), dict(padding=((3, 3), (3, 3)), groups=6)),
    "2d-depthwise-cropped": ((1, 3, 9, 12), (3, 1, 5, 2), dict(
        padding=((-1, 2), (0, 1)), groups=3)),
    "2d-multiplier-3": ((1, 2, 8, 8), (6, 1, 3, 3), dict(padding=((1, 1), (1, 1)), groups=2)),
    "2d-multiplier-2-strided-dilated": ((2, 3, 8, 9), (6, 1, 3, 3), dict(
        stride=2, padding=((0, 0), (0, 0)), dilation=2, groups=3)),
    "2d-strided-cropped": ((2, 2, 10, 9), (3, 2, 3, 3), dict(
        stride=3, padding=((-1, 2), (2, -2)), dilation=(2, 1))),
    "2d-pointwise-groups": ((3, 8, 6, 5), (8, 2, 1, 1), dict(padding=((0, 0), (0, 0)), groups=4)),
    "2d-one-tap-dim": ((2, 3, 12, 6), (2, 3, 1, 4), dict(padding=((0, 0), (2, 1)))),
    "2d-strided-pointwise-dim": ((1, 2, 12, 3), (2, 2, 5, 1), dict(
        stride=(2, 1), padding=((2, 2), (0, 0)))),
    "3d-strided": ((1, 2, 5, 6, 4), (2, 2, 2, 3, 2), dict(
        stride=(1, 2, 1), padding=((1, 0), (0, 1), (1, 1)))),
    "3d-dilated": ((1, 2, 6, 5, 7), (2, 2, 3, 2, 4), dict(
        stride=(1, 2, 1), padding=((1, 0), (0, 1), (2, 1)), dilation=(1, 1, 2))),
    "3d": ((1, 2, 5, 6, 7), (3, 2, 3, 2, 3), dict(padding=((1, 1), (0, 1), (1, 1)))),
}


def _ref_kw(kw):
    return dict(stride=kw.get("stride", 1), pads=kw["padding"], dilation=kw.get("dilation", 1),
                groups=kw.get("groups", 1))


@functools.cache
def reference(name):
    """Seeded operands of a case, with the reference output, a cotangent and the VJPs."""
    xs, ws, kw = CASES[name]
    rng = np.random.default_rng(sorted(CASES).index(name))
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    y = conv_ref(x, w, b, **_ref_kw(kw))
    dy = rng.standard_normal(y.shape)
    dx, dw = vjp_ref(x, w, dy, **_ref_kw(kw))
    return x, w, b, y, dy, dx, dw


def run_pass(algorithm, name, pass_):
    """``(got, expected)`` pairs of one pass of one case under a forced algorithm."""
    xs, ws, kw = CASES[name]
    x, w, b, y, dy, dx, dw = reference(name)
    kw = dict(kw, algorithm=algorithm)
    if pass_ == "forward":
        return [(jconv.conv(x, w, b, **kw), y)]
    if pass_ == "input_grad":
        return [(jconv.conv_input_grad(dy, w, xs, **kw), dx)]
    if pass_ == "kernel_grad":
        return [(jconv.conv_kernel_grad(x, dy, ws, **kw), dw)]
    grad = jax.jit(jax.grad(lambda x, w: jnp.sum(jconv.conv(x, w, b, **kw) * dy), (0, 1)))
    gx, gw = grad(x, w)
    return [(gx, dx), (gw, dw)]


@pytest.mark.parametrize("pass_", PASSES)
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_pass_matches_reference(algorithm, name, pass_):
    try:
        pairs = run_pass(algorithm, name, pass_)
    except jconv.AlgorithmRefused as e:
        pytest.skip(f"{algorithm} refuses: {e}")
    for got, want in pairs:
        close(got, want)


def test_every_algorithm_runs_every_pass_somewhere():
    """Each algorithm plans some pass of some case, and each pass it can plan at all (e.g.
    polyphase: only input-dilated ones, the input gradients of strided convs) is covered."""
    runs = {}
    for algorithm in ALGORITHMS:
        for xs, ws, kw in CASES.values():
            plan = jconv.explain(xs, ws, dtype="float64", algorithm=algorithm, **kw)
            for p in plan.passes:
                if p.chosen == algorithm:
                    runs.setdefault(algorithm, set()).add(p.role)
    assert set(runs) == set(ALGORITHMS), runs
    every = {"forward", "input_grad", "kernel_grad"}
    assert all(runs[a] == every for a in ALGORITHMS if a != "polyphase"), runs
    assert runs["polyphase"] == {"input_grad"}, runs
