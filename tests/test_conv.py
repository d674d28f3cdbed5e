"""conv, conv_transpose and the two VJPs against independent oracles.

Oracles: the NumPy direct sums in reference.py, jax.lax, PyTorch (when installed).
Every algorithm is run on the configurations it supports; the forward pass and the VJPs
of every algorithm on the shared case list are in test_conformance.py.
"""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from reference import close, conv_ref, conv_transpose_ref, convolve_ref

import jconv

ALGORITHMS = jconv.algorithms()


@pytest.fixture
def rng():
    """A fresh seeded generator per test (hypothesis tests draw their own seed)."""
    return np.random.default_rng(0)


REFUSED = object()


def runs(algorithm, fn, *args, **kw):
    """Call fn with a forced algorithm; REFUSED when the algorithm cannot run this pass."""
    try:
        return fn(*args, algorithm=algorithm, **kw)
    except jconv.AlgorithmRefused:
        return REFUSED


def check(got, want, rtol=1e-10):
    """Compare unless the forced algorithm refused; True when compared."""
    if got is REFUSED:
        return False
    close(got, want, rtol)
    return True


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_channels_last_matches_channels_first(algorithm, rng):
    x, w = rng.standard_normal((2, 6, 7, 5)), rng.standard_normal((4, 3, 3, 2))
    kw = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    ref = conv_ref(x, w, None, kw["stride"], 1, kw["dilation"], kw["groups"])
    x_l = np.moveaxis(x, 1, -1)
    w_l = np.transpose(w, (2, 3, 1, 0))
    y = runs(algorithm, jconv.conv, x_l, w_l, channels_last=True, **kw)
    if y is REFUSED:
        pytest.skip(f"{algorithm} does not run this forward pass")
    close(y, np.moveaxis(ref, 1, -1))
    close(conv_ref(x_l, w_l, None, kw["stride"], 1, kw["dilation"], kw["groups"], channels_last=True),
          np.moveaxis(ref, 1, -1))
    dy = rng.standard_normal(y.shape)
    gx = jconv.conv_input_grad(dy, w_l, x_l.shape, channels_last=True, **kw)
    gw = jconv.conv_kernel_grad(x_l, dy, w_l.shape, channels_last=True, **kw)
    gx_ref, gw_ref = jax.grad(lambda x, w: jnp.vdot(jconv.conv(x, w, **kw), np.moveaxis(dy, -1, 1)), (0, 1))(x, w)
    close(gx, np.moveaxis(gx_ref, 1, -1))
    close(gw, np.transpose(gw_ref, (2, 3, 1, 0)))


@pytest.mark.parametrize("padding", [0, 2, "valid", "same", "full", (1, 2), ((0, 1), (2, 0))])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_padding_forms(padding, stride, rng):
    x, w = rng.standard_normal((1, 2, 7, 8)), rng.standard_normal((3, 2, 3, 4))
    k, d = (3, 4), (1, 2)
    if padding == "same":
        pads = []
        for n, kk, dd in zip((7, 8), k, d):
            out = -(-n // stride)
            total = max((out - 1) * stride + dd * (kk - 1) + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        assert jconv.conv(x, w, stride=stride, padding="same", dilation=d).shape[2:] == tuple(
            -(-n // stride) for n in (7, 8))
    elif padding == "full":
        pads = [(dd * (kk - 1),) * 2 for kk, dd in zip(k, d)]
    elif padding == "valid":
        pads = [(0, 0)] * 2
    elif isinstance(padding, int):
        pads = [(padding, padding)] * 2
    else:
        pads = [(p, p) if isinstance(p, int) else p for p in padding]
    ref = conv_ref(x, w, None, stride, pads, d)
    close(jconv.conv(x, w, stride=stride, padding=padding, dilation=d), ref)


def test_same_padding_matches_lax_and_torch_same(rng):
    x, w = rng.standard_normal((2, 3, 10, 9)), rng.standard_normal((4, 3, 4, 3))
    for stride in (1, 2, 3):
        lax_y = jax.lax.conv_general_dilated(x, w, (stride, stride), "SAME", rhs_dilation=(1, 2))
        close(jconv.conv(x, w, stride=stride, padding="same", dilation=(1, 2)), lax_y)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_match_numpy_pad(mode, rng):
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    x, w = rng.standard_normal((2, 4, 6, 7)), rng.standard_normal((2, 2, 3, 3))
    pads = ((2, 1), (1, 3))
    xp = np.pad(x, ((0, 0), (0, 0), *pads), mode=np_mode)
    y = jconv.conv(x, w, padding=pads, padding_mode=mode, groups=2, stride=(1, 2))
    close(y, conv_ref(xp, w, None, (1, 2), 0, 1, 2))
    # the input gradient includes the adjoint of the padding
    dy = rng.standard_normal(y.shape)
    g = jconv.conv_input_grad(dy, w, x.shape, padding=pads, padding_mode=mode, groups=2, stride=(1, 2))
    _, pull = jax.vjp(lambda x: jconv.conv(jnp.pad(x, ((0, 0), (0, 0), *pads), mode=np_mode), w,
                                           groups=2, stride=(1, 2)), x)
    close(g, pull(dy)[0])
    gw = jconv.conv_kernel_grad(x, dy, w.shape, padding=pads, padding_mode=mode, groups=2, stride=(1, 2))
    close(gw, jconv.conv_kernel_grad(xp, dy, w.shape, groups=2, stride=(1, 2)))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "xs,ws,kw",
    [
        ((2, 4, 5), (4, 3, 3), dict(stride=2, padding=1, output_padding=1, groups=2)),
        ((1, 6, 4, 5), (6, 1, 3, 2),
         dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=3, dilation=(1, 2))),
        ((2, 3, 3, 4), (3, 2, 2, 2), dict(stride=1, padding=((0, 1), (1, 0)), output_padding=(1, 0), dilation=2)),
        ((1, 2, 3, 2, 3), (2, 2, 3, 2, 2), dict(stride=2, padding=0)),
    ],
)
def test_conv_transpose_matches_reference(algorithm, xs, ws, kw, rng):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    ref = conv_transpose_ref(x, w, b, kw.get("stride", 1), kw.get("padding", 0),
                             kw.get("output_padding", 0), kw.get("dilation", 1), kw.get("groups", 1))
    if not check(runs(algorithm, jconv.conv_transpose, x, w, b, **kw), ref):
        pytest.skip(f"{algorithm} does not run this transposed convolution")


def test_conv_transpose_is_the_input_gradient_of_conv(rng):
    w = rng.standard_normal((6, 2, 3, 3))  # conv: 4 -> 6 channels, groups=2
    x = rng.standard_normal((2, 4, 9, 10))
    kw = dict(stride=2, padding=1, groups=2)
    y = jconv.conv(x, w, **kw)
    dy = rng.standard_normal(y.shape)
    # output_padding recovers the sizes that stride 2 rounds away: 9 -> 5 -> 9, 10 -> 5 -> 10
    t = jconv.conv_transpose(dy, w, output_padding=(0, 1), **kw)
    close(t, jconv.conv_input_grad(dy, w, x.shape, **kw))
    # channels_last: w stored as the conv's HWIO kernel
    t_l = jconv.conv_transpose(np.moveaxis(dy, 1, -1), np.transpose(w, (2, 3, 1, 0)),
                               output_padding=(0, 1), channels_last=True, **kw)
    close(t_l, np.moveaxis(t, 1, -1))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@settings(max_examples=12)
@given(
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
    nd=st.integers(1, 2),
    groups=st.integers(1, 3),
    cpg=st.integers(1, 2),
    opg=st.integers(1, 2),
    batch=st.integers(1, 2),
)
def test_conv_property_against_reference(algorithm, data, nd, groups, cpg, opg, batch, seed):
    rng = np.random.default_rng(seed)
    dims = st.lists(st.integers(1, 3), min_size=nd, max_size=nd)
    k, s = data.draw(dims, label="kernel"), data.draw(dims, label="stride")
    d = data.draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd), label="dilation")
    n = data.draw(st.lists(st.integers(1, 8), min_size=nd, max_size=nd), label="size")
    pair = st.tuples(st.integers(-1, 2), st.integers(-1, 2))
    pads = data.draw(st.lists(pair, min_size=nd, max_size=nd), label="padding")
    assume(all(m + lo + hi >= dd * (kk - 1) + 1 for m, (lo, hi), kk, dd in zip(n, pads, k, d)))
    x = rng.integers(-3, 4, (batch, groups * cpg, *n)).astype(np.float64)
    w = rng.integers(-3, 4, (groups * opg, cpg, *k)).astype(np.float64)
    ref = conv_ref(x, w, None, s, pads, d, groups)
    kw = dict(stride=s, padding=pads, dilation=d, groups=groups)
    check(runs(algorithm, jconv.conv, x, w, **kw), ref, rtol=1e-12)
    dy = rng.integers(-3, 4, ref.shape).astype(np.float64)
    # adjoint identities on integer data: <conv(x, w), dy> = <x, dx> = <w, dw>
    inner = np.sum(ref * dy)
    gx = runs(algorithm, jconv.conv_input_grad, dy, w, x.shape, **kw)
    if gx is not REFUSED:
        assert np.sum(x * np.asarray(gx)) == pytest.approx(inner, abs=1e-8)
    gw = runs(algorithm, jconv.conv_kernel_grad, x, dy, w.shape, **kw)
    if gw is not REFUSED:
        assert np.sum(w * np.asarray(gw)) == pytest.approx(inner, abs=1e-8)


def test_lax_agrees_on_a_grouped_dilated_case(rng):
    x, w = rng.standard_normal((2, 6, 12, 11)), rng.standard_normal((9, 2, 3, 2))
    y = jconv.conv(x, w, stride=(2, 3), padding=((2, 1), (0, 3)), dilation=(2, 1), groups=3)
    ref = jax.lax.conv_general_dilated(x, w, (2, 3), ((2, 1), (0, 3)), rhs_dilation=(2, 1),
                                       feature_group_count=3)
    close(y, ref)


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
    nd=st.integers(1, 2),
    groups=st.integers(1, 2),
    cpg=st.integers(1, 2),
    opg=st.integers(1, 2),
)
def test_conv_transpose_property_against_reference(data, nd, groups, cpg, opg, seed):
    rng = np.random.default_rng(seed)
    dims = st.lists(st.integers(1, 3), min_size=nd, max_size=nd)
    k, s, d = data.draw(dims, label="kernel"), data.draw(dims, label="stride"), data.draw(dims, label="dilation")
    n = data.draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd), label="size")
    p = data.draw(st.lists(st.integers(0, 2), min_size=nd, max_size=nd), label="padding")
    op = [data.draw(st.integers(0, max(ss, dd) - 1), label="output_padding") for ss, dd in zip(s, d)]
    assume(all((m - 1) * ss - 2 * pp + dd * (kk - 1) + o + 1 >= 1 for m, ss, pp, dd, kk, o in zip(n, s, p, d, k, op)))
    x = rng.integers(-3, 4, (2, groups * cpg, *n)).astype(np.float64)
    w = rng.integers(-3, 4, (groups * cpg, opg, *k)).astype(np.float64)
    kw = dict(stride=s, padding=p, output_padding=op, dilation=d, groups=groups)
    ref = conv_transpose_ref(x, w, None, s, [(pp, pp) for pp in p], op, d, groups)
    close(jconv.conv_transpose(x, w, **kw), ref, rtol=1e-12)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
    mode=st.sampled_from(["full", "same", "valid", "circular"]),
    nd=st.integers(1, 2),
)
def test_convolve_property_against_reference(data, mode, nd, seed):
    rng = np.random.default_rng(seed)
    la = data.draw(st.lists(st.integers(1, 7), min_size=nd, max_size=nd), label="a shape")
    lb = data.draw(st.lists(st.integers(1, 7), min_size=nd, max_size=nd), label="b shape")
    if mode == "valid":
        assume(all(p >= q for p, q in zip(la, lb)) or all(q >= p for p, q in zip(la, lb)))
    a = rng.integers(-4, 5, la).astype(np.float64)
    b = rng.integers(-4, 5, lb).astype(np.float64)
    full = convolve_ref(a, b)
    if mode == "full":
        ref = full
    elif mode == "same":
        ref = full[tuple(slice((q - 1) // 2, (q - 1) // 2 + p) for p, q in zip(la, lb))]
    elif mode == "valid":
        ref = full[tuple(slice(min(p, q) - 1, max(p, q)) for p, q in zip(la, lb))]
    else:  # circular: fold the full result modulo len(a)
        ref = np.zeros(la)
        for idx in np.ndindex(*full.shape):
            ref[tuple(i % p for i, p in zip(idx, la))] += full[idx]
    close(jconv.convolve(a, b, mode), ref, rtol=1e-12)
    # correlate is convolution with the conjugated, reversed second operand
    close(jconv.correlate(a, b, mode if mode != "circular" else "full"),
          np.asarray(jconv.convolve(a, np.flip(b), mode if mode != "circular" else "full")), rtol=1e-12)
