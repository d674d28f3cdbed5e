"""Edge cases checked against the peers: size-1 and zero-size axes, both operand orders.

* `convolve` / `correlate` against `scipy.signal` (run slice by slice over the broadcast
  axes, since `scipy.signal.convolve` has no ``axes``), in every mode, with every
  algorithm, with either operand the longer one;
* zero-size axes (batch, channels, spatial, with groups) through `conv`,
  `conv_transpose`, `conv_input_grad`, `conv_kernel_grad` and their gradients, against
  `jax.lax`, for every algorithm and ``"measure"``, and through `explain`;
* the named errors where neither peer gives a result.
"""

import re
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

import jconv

METHODS = ("auto", *jconv.algorithms())
ALL_POLICIES = ("auto", "measure", *jconv.algorithms())
SIGNAL_FNS = {"convolve": (jconv.convolve, scipy.signal.convolve),
              "correlate": (jconv.correlate, scipy.signal.correlate)}
HIGHEST = jax.lax.Precision.HIGHEST


def close(got, want, rtol=1e-9):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(np.abs(want).max(initial=0.0), 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


def raises(exc, msg):
    return pytest.raises(exc, match=re.escape(msg))


# -- convolve / correlate against scipy.signal ---------------------------------------------


def scipy_signal(name, a, b, mode, axes):
    """SciPy's convolve/correlate over ``axes``, the other axes broadcast (kept at their
    broadcast length in every mode), one ``scipy.signal`` call per broadcast index."""
    ref = SIGNAL_FNS[name][1]
    nd = a.ndim
    if axes is None:
        axes = range(nd)
    axes = tuple(sorted(ax % nd for ax in np.atleast_1d(axes).tolist()))
    other = [ax for ax in range(nd) if ax not in axes]
    batch = np.broadcast_shapes(tuple(a.shape[ax] for ax in other),
                                tuple(b.shape[ax] for ax in other))
    inner = list(range(len(other), nd))
    am = np.moveaxis(a, axes, inner)
    bm = np.moveaxis(b, axes, inner)
    am = np.broadcast_to(am, batch + am.shape[len(other):])
    bm = np.broadcast_to(bm, batch + bm.shape[len(other):])
    probe = ref(np.ones(am.shape[len(other):]), np.ones(bm.shape[len(other):]), mode)
    out = np.zeros(batch + probe.shape, np.result_type(a, b))
    for idx in np.ndindex(*batch):
        out[idx] = ref(am[idx], bm[idx], mode, method="direct")
    return np.moveaxis(out, inner, axes)


def run_signal(name, a, b, mode, axes, method):
    """jconv's result, or None when a forced algorithm refuses the configuration (a
    named ValueError; "auto" never refuses)."""
    try:
        return SIGNAL_FNS[name][0](a, b, mode, axes=axes, method=method)
    except ValueError as e:
        if method == "auto" or "cannot compute the forward pass" not in str(e):
            raise
        return None


def check_both_orders(name, a, b, mode, axes, method):
    """f(a, b) and f(b, a) against SciPy; returns how many ran (refusals excepted)."""
    ran = 0
    for u, v in ((a, b), (b, a)):
        got = run_signal(name, u, v, mode, axes, method)
        if got is not None:
            close(got, scipy_signal(name, u, v, mode, axes))
            ran += 1
    return ran


@st.composite
def signal_cases(draw):
    """Operands of rank 1-3 with 1-2 convolved axes (lengths from 1) and broadcast axes
    where either operand, both or neither has length 1. For ``"valid"`` one operand is
    at least as long as the other along every convolved axis (either one, once both
    orders are run)."""
    rank = draw(st.integers(1, 3))
    order = draw(st.permutations(range(rank)))
    axes = tuple(sorted(order[: draw(st.integers(1, min(rank, 2)))]))
    mode = draw(st.sampled_from(("full", "same", "valid")))
    a_shape, b_shape = [], []
    for ax in range(rank):
        if ax in axes:
            m, k = draw(st.integers(1, 6)), draw(st.integers(1, 6))
            if mode == "valid":
                m, k = max(m, k), min(m, k)
        else:
            n = draw(st.integers(2, 3))
            m, k = draw(st.sampled_from(((n, n), (n, 1), (1, n), (1, 1))))
        a_shape.append(m)
        b_shape.append(k)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    complex_ = draw(st.booleans())

    def data(shape):
        x = rng.standard_normal(shape)
        return x + 1j * rng.standard_normal(shape) if complex_ else x

    given_axes = None if len(axes) == rank and draw(st.booleans()) else axes
    return data(a_shape), data(b_shape), mode, given_axes


@settings(max_examples=30, deadline=None)
@given(case=signal_cases(), name=st.sampled_from(tuple(SIGNAL_FNS)),
       method=st.sampled_from(METHODS))
def test_signal_matches_scipy_in_both_orders(case, name, method):
    a, b, mode, axes = case
    check_both_orders(name, a, b, mode, axes, method)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ("full", "same", "valid"))
def test_every_algorithm_and_mode_with_broadcast_axes(method, mode):
    """Broadcast axes of length 1 in either operand; b the longer along the convolved axis
    (and, in the other order, a)."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 1, 5)), rng.standard_normal((1, 3, 7))
    ran = sum(check_both_orders(name, a, b, mode, 2, method) for name in SIGNAL_FNS)
    assert ran > 0 or method == "polyphase"  # polyphase needs a dilated input


@pytest.mark.parametrize("method", METHODS)
def test_valid_with_the_longer_second_operand_and_a_broadcast_axis(method):
    """The operands are exchanged (b is the longer one) and broadcast along another axis."""
    rng = np.random.default_rng(4)
    cases = [
        (rng.standard_normal((2, 3)), rng.standard_normal((1, 9)), 1, (2, 7)),
        (rng.standard_normal((6, 6, 3)), rng.standard_normal((47, 47, 1)), (0, 1), (42, 42, 3)),
        (rng.standard_normal((1, 4, 3)), rng.standard_normal((5, 6, 1)), 1, (5, 3, 3)),
    ]
    for a, b, axes, shape in cases:
        for name in SIGNAL_FNS:
            got = run_signal(name, a, b, "valid", axes, method)
            if got is None:
                continue
            assert got.shape == shape
            close(got, scipy_signal(name, a, b, "valid", axes))


@pytest.mark.parametrize("name", tuple(SIGNAL_FNS))
@pytest.mark.parametrize("axes", ([], ()))
def test_empty_axes_is_an_error(name, axes):
    a, b = np.ones((2, 5)), np.ones((2, 3))
    with raises(ValueError, f"jconv.{name}: axes cannot be empty when given, got {axes!r}"):
        SIGNAL_FNS[name][0](a, b, axes=axes)
    with pytest.raises(ValueError, match="axes cannot be empty"):  # SciPy's rule
        scipy.signal.fftconvolve(a, b, axes=axes)


def test_rank_0_operands_multiply():
    # all axes of a rank-0 pair is none: a product, as scipy.signal.convolve gives
    assert float(jconv.convolve(np.float64(2.0), np.float64(3.0))) == 6.0


@pytest.mark.parametrize("method", ("measure", *METHODS))
@pytest.mark.parametrize(
    "a_shape,b_shape,mode,axes,shape",
    [
        ((0, 5), (1, 3), "full", 1, (0, 7)),
        ((0, 5), (1, 9), "valid", 1, (0, 5)),  # exchanged operands
        ((3, 0, 5), (3, 1, 3), "same", 2, (3, 0, 5)),
        ((1, 4), (0, 2), "full", 1, (0, 5)),
        ((0, 4), (0, 6), "valid", 1, (0, 3)),
        ((2, 0, 6), (1, 1, 4), "circular", 2, (2, 0, 6)),
    ],
)
def test_signal_zero_size_broadcast_axis(method, a_shape, b_shape, mode, axes, shape):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    for name in SIGNAL_FNS:
        got = SIGNAL_FNS[name][0](a, b, mode, axes=axes, method=method)
        assert got.shape == shape
        if mode != "circular":
            close(got, scipy_signal(name, a, b, mode, axes))


def test_signal_zero_length_convolved_axis_is_an_error():
    with raises(ValueError, "jconv.correlate: a has length 4 and b length 0 along convolved "
                            "axis 1; both must be >= 1"):
        jconv.correlate(np.ones((2, 4)), np.ones((2, 0)), axes=1)


# -- zero-size axes of conv and its gradients against jax.lax ------------------------------


def lax_conv(x, w, *, stride=1, padding=0, dilation=1, groups=1, channels_last=False):
    nd = x.ndim - 2
    pads = ((padding, padding),) * nd if isinstance(padding, int) else padding
    spec = ("NWC", "WIO", "NWC") if nd == 1 else ("NHWC", "HWIO", "NHWC")
    return jax.lax.conv_general_dilated(
        x, w, (stride,) * nd if isinstance(stride, int) else stride, pads,
        rhs_dilation=(dilation,) * nd if isinstance(dilation, int) else dilation,
        feature_group_count=groups,
        dimension_numbers=spec if channels_last else None, precision=HIGHEST,
    )


def _bias_shape(y, channels_last):
    ones = (1,) * (y.ndim - 2)
    return (1, *ones, -1) if channels_last else (1, -1, *ones)


def lax_layer(x, w, bias, **kw):
    y = lax_conv(x, w, **kw)
    return y + bias.reshape(_bias_shape(y, kw.get("channels_last", False)))


CONV_CASES = [
    # (x shape, w shape, keyword arguments)
    ((1, 1, 3, 0), (1, 1, 1, 1), dict(padding=((0, 0), (1, 1)))),
    ((2, 3, 0), (4, 3, 3), dict(padding=2)),
    ((2, 2, 0, 4), (2, 2, 2, 3), dict(padding=((2, 3), (0, 1)), stride=(2, 1), dilation=(2, 1))),
    ((2, 0, 3), (1, 3, 4), dict(padding=1, channels_last=True)),
    ((0, 3, 5), (4, 3, 3), {}),
    ((2, 0, 5), (4, 0, 3), dict(padding=1)),
    ((2, 3, 5), (0, 3, 3), dict(stride=2)),
    ((2, 0, 5, 4), (4, 0, 3, 3), dict(groups=2, padding=1)),
    ((0, 4, 6), (8, 1, 3), dict(groups=4, stride=2, dilation=2)),
]


def _reverse_mode_policies(case):
    """"auto" and one forced algorithm per case, in turn (reverse mode runs the same
    passes as `conv_input_grad` and `conv_kernel_grad`, which every policy runs)."""
    return ("auto", jconv.algorithms()[case % len(jconv.algorithms())])


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv_zero_size_axes_match_lax(case):
    xs, ws, kw = CONV_CASES[case]
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    c_out = ws[-1] if kw.get("channels_last") else ws[0]
    bias = rng.standard_normal(c_out)
    want, lax_vjp = jax.vjp(lambda x, w, b: lax_layer(x, w, b, **kw), x, w, bias)
    ct = rng.standard_normal(want.shape)
    dx, dw, db = lax_vjp(ct)
    for algorithm in ALL_POLICIES:
        close(jconv.conv(x, w, bias, algorithm=algorithm, **kw), want)
        close(jconv.conv_input_grad(ct, w, xs, algorithm=algorithm, **kw), dx)
        close(jconv.conv_kernel_grad(x, ct, ws, algorithm=algorithm, **kw), dw)
        plan = jconv.explain(xs, ws, dtype="float64", algorithm=algorithm, **kw)
        assert str(plan).count("no algorithm runs") == 3  # every pass is empty
        assert [p.chosen for p in plan.passes] == [None] * 3
    for algorithm in _reverse_mode_policies(case):
        _, vjp = jax.vjp(partial(jconv.conv, algorithm=algorithm, **kw), x, w, bias)
        for got, ref in zip(vjp(ct), (dx, dw, db)):
            close(got, ref)
    if case == 0:  # the padded size, as lax gives it
        assert want.shape == (1, 1, 3, 2)


def test_conv_no_input_channels_gives_the_bias():
    bias = np.array([1.0, -2.0, 3.0])
    y = jconv.conv(np.ones((2, 0, 4)), np.ones((3, 0, 2)), bias, padding=1)
    close(y, np.broadcast_to(bias[:, None], (2, 3, 5)))


def lax_conv_transpose(x, w, *, stride=1, padding=0, output_padding=0, dilation=1,
                       groups=1):
    """`conv_transpose` as the input gradient of lax's convolution (its definition), for
    1-d inputs: the forward input has the size the documented formula gives."""
    (n,), (k,) = x.shape[2:], w.shape[2:]
    size = (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    z = jnp.zeros((x.shape[0], w.shape[1] * groups, size), x.dtype)
    _, vjp = jax.vjp(lambda z: lax_conv(z, w, stride=stride, padding=padding,
                                        dilation=dilation, groups=groups), z)
    return vjp(x)[0]


TRANSPOSE_CASES = [
    ((1, 2, 0), (2, 3, 3), dict(stride=2, output_padding=1)),
    ((2, 2, 0), (2, 2, 4), dict(stride=1, padding=1, dilation=2, groups=2)),
    ((0, 2, 4), (2, 3, 3), dict(stride=2)),
    ((2, 0, 4), (0, 3, 2), {}),
    ((2, 4, 4), (4, 0, 3), dict(groups=2, stride=3)),
]


@pytest.mark.parametrize("case", range(len(TRANSPOSE_CASES)))
def test_conv_transpose_zero_size_axes_match_lax(case):
    xs, ws, kw = TRANSPOSE_CASES[case]
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    want, lax_vjp = jax.vjp(lambda x, w: lax_conv_transpose(x, w, **kw), x, w)
    ct = rng.standard_normal(want.shape)
    want_grads = lax_vjp(ct)
    for algorithm in ALL_POLICIES:
        close(jconv.conv_transpose(x, w, algorithm=algorithm, **kw), want)
    for algorithm in _reverse_mode_policies(case + 3):
        _, vjp = jax.vjp(partial(jconv.conv_transpose, algorithm=algorithm, **kw), x, w)
        for got, ref in zip(vjp(ct), want_grads):
            close(got, ref)
    plan = jconv.explain(xs, ws, transpose=True, dtype="float64", **kw)
    assert [p.chosen for p in plan.passes] == [None] * 3


def test_conv_transpose_of_an_empty_input_keeps_the_output_size_formula():
    # (n - 1) stride + (k - 1) + output_padding + 1 at n = 0: -3 + 2 + 1 + 1 = 1
    y = jconv.conv_transpose(np.ones((1, 1, 0)), np.ones((1, 1, 3)), stride=3, output_padding=1)
    close(y, np.zeros((1, 1, 1)))


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        # jax.lax returns an empty result where no window fits; jconv raises, as it does
        # for a non-empty input too
        (lambda: jconv.conv(np.ones((1, 1, 0)), np.ones((1, 1, 3))), ValueError,
         "jconv.conv: the dilated kernel (extent 3) is larger than the padded input (size 0) "
         "in spatial dim 0"),
        (lambda: jconv.conv(np.ones((1, 1, 0)), np.ones((1, 1, 3)), padding="same"), ValueError,
         "jconv.conv: the dilated kernel (extent 3) is larger than the padded input (size 2) "
         "in spatial dim 0"),
        (lambda: jconv.conv(np.ones((1, 1, 0)), np.ones((1, 1, 1)), padding=((-1, 0),)),
         ValueError, "jconv.conv: padding (-1, 0) leaves a non-positive input size -1 in "
                     "spatial dim 0"),
        # a kernel without taps: jax.lax rejects it too (when lowering)
        (lambda: jconv.conv(np.ones((1, 1, 5)), np.ones((1, 1, 0)), padding=1), ValueError,
         "jconv.conv: w has spatial size (0,); every entry must be >= 1 (a kernel needs at "
         "least one tap per spatial dim)"),
        (lambda: jconv.conv_transpose(np.ones((1, 1, 5)), np.ones((1, 1, 0))), ValueError,
         "jconv.conv_transpose: w has spatial size (0,); every entry must be >= 1"),
        (lambda: jconv.explain((1, 1, 5), (1, 1, 0)), ValueError,
         "jconv.explain: w has spatial size (0,); every entry must be >= 1"),
        (lambda: jconv.conv(np.ones((1, 1, 0)), np.ones((1, 1, 1)), padding=1,
                            padding_mode="replicate"), ValueError,
         "jconv.conv: x has size 0 in spatial dim 0, which padding_mode='replicate' cannot "
         "pad (it copies input values; only 'zeros' pads an empty dim)"),
        (lambda: jconv.conv_transpose(np.ones((1, 1, 0)), np.ones((1, 1, 3)), stride=3),
         ValueError, "jconv.conv_transpose: x has size 0 in spatial dim 0, for which stride 3, "
                     "padding (0, 0), dilation 1, kernel size 3 and output_padding 0 give a "
                     "non-positive output size 0"),
    ],
)
def test_zero_size_errors(call, exc, msg):
    with raises(exc, msg):
        call()
