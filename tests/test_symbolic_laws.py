"""The laws of convolution hold for jconv's numeric functions too, under every algorithm.

`jconv.symbolic` proves each law for the reference semantics (``prove_*``, with symbolic
sizes) and probes the numeric operators completely (`check_operator`); these property
tests check the laws on random integers in float64 for every algorithm, and the fault
tests at the end show that a wrong function breaks them. A forced algorithm that refuses
a configuration (`jconv.AlgorithmRefused`) is skipped for that example.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jconv
from jconv.symbolic._reference import conv_output_shape  # the reference's own size rule

ALGORITHMS = jconv.algorithms()
few = settings(max_examples=3)
seeds = st.integers(0, 2**32 - 1)


def ints(seed, *shapes):
    """Random integers in [-9, 9] as float64 arrays, one per shape, from one seeded rng."""
    rng = np.random.default_rng(seed)
    return [rng.integers(-9, 10, s).astype(np.float64) for s in shapes]


def holds(law, *args, **kwargs) -> bool | None:
    """``law(...) -> (lhs, rhs)`` agree to float64 rounding; None when an algorithm refuses."""
    try:
        lhs, rhs = law(*args, **kwargs)
    except jconv.AlgorithmRefused:
        return None
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    scale = max(float(np.max(np.abs(rhs), initial=1.0)), 1.0)
    return lhs.shape == rhs.shape and float(np.max(np.abs(lhs - rhs), initial=0.0)) <= 1e-9 * scale


def assert_law(law, *args, **kwargs):
    assert holds(law, *args, **kwargs) in (True, None)


def convolve_with(alg):
    return functools.partial(jconv.convolve, method=alg)


def conv_with(alg):
    return functools.partial(jconv.conv, algorithm=alg)


# -- the laws: each returns (lhs, rhs) ---------------------------------------------------------


def commutativity(f, a, b, mode):
    return f(a, b, mode), f(b, a, mode)


def associativity(f, a, b, c):
    return f(f(a, b, "full"), c, "full"), f(a, f(b, c, "full"), "full")


def convolution_theorem(f, a, b):
    return f(jnp.asarray(a), jnp.asarray(b), "circular"), jnp.real(
        jnp.fft.ifft(jnp.fft.fft(a) * jnp.fft.fft(b)))


def groups_law(f, x, w, groups, **kw):
    """A grouped conv is the concatenation of the per-group convs."""
    cg, og = w.shape[1], w.shape[0] // groups
    parts = [f(x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og], **kw) for g in range(groups)]
    return f(x, w, groups=groups, **kw), jnp.concatenate(parts, axis=1)


def equivariance(f, x, w, shift, **kw):
    """Circular padding: conv(roll(x, shift)) == roll(conv(x), shift / stride)."""
    stride = kw.get("stride", 1)
    axes = tuple(range(2, x.ndim))
    stride = (stride,) * len(axes) if isinstance(stride, int) else tuple(stride)
    return f(np.roll(x, shift, axes), w, **kw), jnp.roll(
        f(x, w, **kw), tuple(s // t for s, t in zip(shift, stride)), axes)


def fc_cases(f, x, w1, wf, xs, ws):
    """1x1 conv = per-pixel matmul; full-size kernel = dense layer; scalar conv = product."""
    n, c_out, nd = x.shape[0], w1.shape[0], x.ndim - 2
    one = (1, 1, *(1,) * nd)
    lhs = jnp.concatenate([jnp.ravel(f(x, w1)), jnp.ravel(f(x, wf)),
                           jnp.ravel(f(jnp.full(one, xs), jnp.full(one, ws)))])
    rhs = jnp.concatenate([
        jnp.ravel(jnp.einsum("oc,nc...->no...", w1.reshape(c_out, -1), x)),
        jnp.ravel(x.reshape(n, -1) @ wf.reshape(c_out, -1).T), jnp.array([xs * ws])])
    return lhs, rhs


# -- every algorithm -------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
@few
@given(seed=seeds, n=st.integers(1, 9), m=st.integers(1, 5),
       mode=st.sampled_from(["full", "same", "valid", "circular"]))
def test_commutativity(alg, seed, n, m, mode):
    m = n if mode != "full" else m  # the other modes commute for equal lengths
    assert_law(commutativity, convolve_with(alg), *ints(seed, (n,), (m,)), mode)


@pytest.mark.parametrize("alg", ALGORITHMS)
@few
@given(seed=seeds, sizes=st.tuples(*[st.integers(1, 6)] * 3))
def test_associativity(alg, seed, sizes):
    assert_law(associativity, convolve_with(alg), *ints(seed, *[(s,) for s in sizes]))


@pytest.mark.parametrize("alg", ALGORITHMS)
@few
@given(seed=seeds, n=st.integers(1, 12))
def test_convolution_theorem(alg, seed, n):
    assert_law(convolution_theorem, convolve_with(alg), *ints(seed, (n,), (n,)))


@pytest.mark.parametrize("alg", ALGORITHMS)
@few
@given(seed=seeds, nd=st.integers(1, 3), groups=st.integers(1, 3), stride=st.integers(1, 2))
def test_groups(alg, seed, nd, groups, stride):
    x, w = ints(seed, (1, 2 * groups, *(5,) * nd), (groups * 2, 2, *(2,) * nd))
    assert_law(groups_law, conv_with(alg), x, w, groups, padding=1, stride=stride)


@pytest.mark.parametrize("alg", ALGORITHMS)
@few
@given(seed=seeds, nd=st.integers(1, 3), shift=st.integers(0, 4), stride=st.integers(1, 2))
def test_translation_equivariance(alg, seed, nd, shift, stride):
    x, w = ints(seed, (1, 2, *(6,) * nd), (2, 2, *(3,) * nd))
    assert_law(equivariance, conv_with(alg), x, w, (shift * stride,) * nd, padding="same",
               padding_mode="circular", stride=stride)


@pytest.mark.parametrize("alg", ALGORITHMS)
@few
@given(seed=seeds, nd=st.integers(1, 3), c_out=st.integers(1, 4))
def test_fully_connected_cases(alg, seed, nd, c_out):
    x, w1, wf, (xs, ws) = ints(seed, (2, 3, *(3,) * nd), (c_out, 3, *(1,) * nd),
                               (c_out, 3, *(3,) * nd), (2,))
    assert_law(fc_cases, conv_with(alg), x, w1, wf, xs, ws)


SHAPE_CASES = [
    ("conv", (1, 1, 9), (1, 1, 3), dict(stride=2, padding=1, dilation=2)),
    ("conv", (1, 2, 7, 6), (2, 2, 3, 2), dict(stride=(2, 3), padding="same")),
    ("conv", (1, 1, 8), (1, 1, 3), dict(padding="full")),
    ("conv", (1, 1, 5, 6, 4), (1, 1, 2, 3, 2), dict(stride=(1, 2, 3), padding=(0, 1, 2))),
    ("conv_transpose", (1, 2, 4), (2, 1, 3), dict(stride=3, padding=1, output_padding=2)),
    ("conv_transpose", (1, 2, 4, 3), (2, 1, 3, 2), dict(stride=2, padding=1, output_padding=1)),
    ("convolve", (7,), (3,), dict(mode="valid")),
    ("convolve", (4, 7), (2, 3), dict(mode="same")),
]


def expected_shape(kind, xs, ws, kw):
    """The size formulas (the symbolic side's for conv, PyTorch's for the transpose)."""
    if kind == "conv":
        return conv_output_shape(xs, ws, **kw)
    if kind == "conv_transpose":
        nd = len(xs) - 2
        per = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)  # noqa: E731
        s, op, p = per(kw.get("stride", 1)), per(kw.get("output_padding", 0)), per(kw["padding"])
        return (xs[0], ws[1], *((n - 1) * st - 2 * pp + k + o
                                for n, k, st, pp, o in zip(xs[2:], ws[2:], s, p, op)))
    rule = {"full": lambda n, m: n + m - 1, "same": lambda n, m: n,
            "valid": lambda n, m: abs(n - m) + 1}[kw["mode"]]
    return tuple(rule(n, m) for n, m in zip(xs, ws))


def output_shape(fn, xs, ws, kw):
    """The shape ``fn`` returns, traced and lowered (no compile)."""
    lowered = jax.jit(lambda x, w: fn(x, w, **kw)).lower(jnp.zeros(xs), jnp.zeros(ws))
    return tuple(jax.tree.leaves(lowered.out_info)[0].shape)


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("case", SHAPE_CASES, ids=lambda c: f"{c[0]}-{len(c[1])}d")
def test_output_shapes(alg, case):
    kind, xs, ws, kw = case
    key = "method" if kind == "convolve" else "algorithm"
    fn = functools.partial(getattr(jconv, kind), **{key: alg})
    try:
        shape = output_shape(fn, xs, ws, kw)
    except jconv.AlgorithmRefused:
        pytest.skip(f"{alg} refuses {kind} {kw}")
    assert shape == expected_shape(kind, xs, ws, kw)


# -- wrong functions break the laws ------------------------------------------------------------


def test_missing_kernel_flip_breaks_commutativity_and_the_convolution_theorem():
    a, b = ints(0, (6,), (3,))
    assert holds(commutativity, jconv.convolve, a, b, "full") is True
    assert holds(commutativity, jconv.correlate, a, b, "full") is False
    a, b = ints(1, (8,), (8,))
    assert holds(convolution_theorem, jconv.correlate, a, b) is False

    def spectrum(a, b, mode):
        return jnp.real(jnp.fft.ifft(jnp.fft.fft(a) * jnp.fft.fft(b)))

    def spectrum_conjugated(a, b, mode):  # a circular correlation
        return jnp.real(jnp.fft.ifft(jnp.fft.fft(a) * jnp.conj(jnp.fft.fft(b))))

    assert holds(convolution_theorem, spectrum, a, b) is True
    assert holds(convolution_theorem, spectrum_conjugated, a, b) is False


def test_wrong_group_mapping_breaks_the_groups_law():
    def interleaved(x, w, groups=1, **kw):  # output channel o from group o % G
        cg = x.shape[1] // groups
        parts = [jconv.conv(x[:, g * cg:(g + 1) * cg], w[g::groups], **kw) for g in range(groups)]
        y = jnp.stack(parts, axis=2)
        return y.reshape(y.shape[0], -1, *y.shape[3:])

    x, w = ints(0, (1, 4, 5), (4, 2, 3))
    assert holds(groups_law, jconv.conv, x, w, 2, padding=1) is True
    assert holds(groups_law, interleaved, x, w, 2, padding=1) is False


def test_non_circular_padding_breaks_equivariance():
    def replicate(x, w, **kw):
        return jconv.conv(x, w, **{**kw, "padding_mode": "replicate"})

    x, w = ints(0, (1, 1, 8), (1, 1, 3))
    kw = dict(padding="same", padding_mode="circular")
    assert holds(equivariance, jconv.conv, x, w, (2,), **kw) is True
    assert holds(equivariance, replicate, x, w, (2,), **kw) is False


def test_transposed_pointwise_weights_break_the_fc_cases():
    def transposed_weights(x, w, **kw):  # w[c, o] instead of w[o, c] for 1x1 kernels
        if w.shape[2:] == (1, 1) and w.shape[0] == w.shape[1]:
            w = jnp.swapaxes(w, 0, 1)
        return jconv.conv(x, w, **kw)

    args = ints(0, (1, 3, 3, 3), (3, 3, 1, 1), (3, 3, 3, 3), (2,))
    assert holds(fc_cases, jconv.conv, *args[:3], *args[3]) is True
    assert holds(fc_cases, transposed_weights, *args[:3], *args[3]) is False


def test_dropped_output_breaks_the_shape_formulas():
    kind, xs, ws, kw = SHAPE_CASES[0]
    assert output_shape(jconv.conv, xs, ws, kw) == expected_shape(kind, xs, ws, kw)
    assert output_shape(lambda x, w, **k: jconv.conv(x, w, **k)[..., :-1], xs, ws,
                        kw) != expected_shape(kind, xs, ws, kw)
