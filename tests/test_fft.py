"""The ``fft`` algorithm, forced, against the NumPy direct sums of reference.py.

What is specific to FFT (every pass on the shared cases is in test_conformance.py): the
polyphase rewrite (stride, kernel dilation, input dilation, negative padding, flip) on
canonical specs, overlap-save blocking on long axes, batch chunking, complex dtypes, the
float32 error bound, and the refusal of integer dtypes.
"""

import itertools
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st
from reference import close, conv_ref, conv_transpose_ref, convolve_ref, vjp_ref

import jconv
from jconv import _select
from jconv._algorithms import fft
from jconv._calibration import reference
from jconv._spec import ConvSpec

ALG = "fft"


# (x shape, w shape, conv keyword arguments for jconv and reference.conv_ref)

def _jconv_kw(kw):
    return dict(stride=kw["stride"], padding=kw["pads"], dilation=kw["dilation"],
                groups=kw["groups"])


def test_channels_last():
    r = np.random.default_rng(1)
    x, w = r.standard_normal((2, 9, 10, 4)), r.standard_normal((5, 4, 2, 6))  # NHWC, HWIO
    y = jconv.conv(x, w, stride=(1, 2), padding="same", groups=2, channels_last=True,
                   algorithm=ALG)
    pads = ((2, 2), (1, 1))  # XLA's SAME for n=(9, 10), k=(5, 4), s=(1, 2)
    close(y, conv_ref(x, w, None, (1, 2), pads, 1, 2, channels_last=True))


@pytest.mark.parametrize(
    "xs, ws, kw",
    [
        ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1, groups=1)),
        ((1, 4, 4, 7), (4, 1, 4, 2), dict(stride=(3, 2), padding=((2, 0), (1, 1)),
                                           dilation=(1, 2), groups=2)),
        ((2, 3, 9), (3, 2, 6), dict(stride=4, padding=1, output_padding=2, groups=1)),
    ],
)
def test_conv_transpose(xs, ws, kw):
    """Input dilation (the adjoint of stride) goes through the output-phase rewrite."""
    r = np.random.default_rng(len(xs))
    x, w, b = r.standard_normal(xs), r.standard_normal(ws), r.standard_normal(ws[1] * kw["groups"])
    nd = len(xs) - 2
    pads = kw["padding"]
    ref_pads = ((pads, pads),) * nd if isinstance(pads, int) else pads
    y = jconv.conv_transpose(x, w, b, algorithm=ALG, **kw)
    close(y, conv_transpose_ref(x, w, b, kw["stride"], ref_pads, kw.get("output_padding", 0),
                                kw.get("dilation", 1), kw["groups"]))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve(mode):
    r = np.random.default_rng(3)
    a, b = r.standard_normal((3, 40, 7)), r.standard_normal((3, 9, 4))
    full = np.stack([convolve_ref(a[i], b[i]) for i in range(3)])
    expected = np.stack(
        [scipy.signal.convolve(a[i], b[i], mode=mode, method="direct") for i in range(3)]
    )
    close(jconv.convolve(a, b, mode, axes=(1, 2), method=ALG), expected)
    if mode == "full":
        close(expected, full)


def test_convolve_complex():
    r = np.random.default_rng(4)
    a = r.standard_normal((50,)) + 1j * r.standard_normal((50,))
    b = r.standard_normal((13,)) + 1j * r.standard_normal((13,))
    close(jconv.convolve(a, b, method=ALG), convolve_ref(a, b))
    close(jconv.correlate(a, b, "same", method=ALG),
          scipy.signal.correlate(a, b, "same", method="direct"))


def test_complex_conv_with_stride():
    r = np.random.default_rng(5)
    x = r.standard_normal((2, 2, 13)) + 1j * r.standard_normal((2, 2, 13))
    w = r.standard_normal((3, 2, 4)) + 1j * r.standard_normal((3, 2, 4))
    y = jconv.conv(x, w, stride=2, padding=((3, -1),), dilation=2, algorithm=ALG)
    close(y, conv_ref(x, w, None, 2, ((3, -1),), 2, 1))


# -- overlap-save blocking ----------------------------------------------------------------


C = reference().constants


def _blocks(spec: ConvSpec):
    """The blocking of every dim, unblocked ones included (`jconv.explain` names only the
    blocked frames): private, for the error bound's frame length."""
    return fft._plan(spec, C)[1]


def _form(x_shape, w_shape, role="forward", **kw):
    """The FFT form `jconv.explain` reports for a pass: its candidate entry."""
    plan = jconv.explain(x_shape, w_shape, algorithm=ALG, **kw)[role]
    return next(c for c in plan.candidates if c.name == ALG)


def _frames(x_shape, w_shape, **kw) -> list[tuple[int, int]]:
    """``(count, points)`` of the overlap-save frames of every blocked dim, as
    `jconv.explain` reports them (``"overlap-save frames 44 x 784"``)."""
    detail = _form(x_shape, w_shape, **kw).detail
    return [(int(nb), int(b)) for nb, b in re.findall(r"(\d+) x (\d+)", detail)]


def test_long_signal_is_blocked():
    """A long 1-D signal with a short kernel is cut into overlap-save frames."""
    r = np.random.default_rng(6)
    x, w = r.standard_normal((2, 2, 30011)), r.standard_normal((3, 2, 97))
    kw = dict(stride=1, padding=((50, 3),), dilation=1, groups=1)
    (frames,) = _frames(x.shape, w.shape, padding=((50, 3),))
    count, points = frames
    # each frame advances by its points less the kernel's overlap (96), at least 96
    assert count > 1 and points < 30011 and points - 96 >= 96, frames
    close(jconv.conv(x, w, algorithm=ALG, **kw), conv_ref(x, w, None, 1, ((50, 3),), 1, 1))
    dy = r.standard_normal((2, 3, 30011 + 53 - 96))
    dw = jconv.conv_kernel_grad(x, dy, w.shape, algorithm=ALG, **kw)
    xp = np.pad(x, ((0, 0), (0, 0), (50, 3)))
    expected = np.stack([np.stack([
        sum(np.correlate(xp[n, c], dy[n, o], "valid") for n in range(2)) for c in range(2)])
        for o in range(3)])
    close(dw, expected)


def test_long_2d_axis_is_blocked_and_strided():
    r = np.random.default_rng(7)
    x, w = r.standard_normal((1, 2, 6000, 5)), r.standard_normal((2, 2, 9, 3))
    (frames,) = _frames(x.shape, w.shape, stride=(2, 1), padding=((4, 4), (1, 1)))
    assert frames[0] > 1 and frames[1] < 3000, frames  # the long axis (3000 phase samples)
    y = jconv.conv(x, w, stride=(2, 1), padding=((4, 4), (1, 1)), algorithm=ALG)
    close(y, conv_ref(x, w, None, (2, 1), ((4, 4), (1, 1)), 1, 1))


# -- canonical specs: every combination of stride, dilations, padding and flip ------------


def canonical_ref(x, w, spec: ConvSpec):
    """The canonical sum from its definition: zero-stuff, pad/crop, slide (NumPy)."""
    x, w = np.asarray(x), np.asarray(w)
    for i, (ld, (lo, hi)) in enumerate(zip(spec.lhs_dilation, spec.padding)):
        ax = 3 + i
        n = x.shape[ax]
        shape = list(x.shape)
        shape[ax] = (n - 1) * ld + 1
        xe = np.zeros(shape, x.dtype)
        sl = [slice(None)] * x.ndim
        sl[ax] = slice(None, None, ld)
        xe[tuple(sl)] = x
        sl[ax] = slice(max(-lo, 0), xe.shape[ax] - max(-hi, 0))
        xe = xe[tuple(sl)]
        width = [(0, 0)] * x.ndim
        width[ax] = (max(lo, 0), max(hi, 0))
        x = np.pad(xe, width)
    if spec.flip:
        w = w[(..., *[slice(None, None, -1)] * spec.ndim)]
    y = np.zeros(spec.y_shape, np.result_type(x, w))
    for t in itertools.product(*(range(k) for k in spec.kernel_size)):
        sl = tuple(
            slice(ti * d, ti * d + (o - 1) * s + 1, s)
            for ti, d, o, s in zip(t, spec.rhs_dilation, spec.out_size, spec.stride)
        )
        y += np.einsum("ngc...,goc->ngo...", x[(..., *sl)], w[(..., *t)])
    return y


@st.composite
def canonical_specs(draw):
    nd = draw(st.integers(1, 2))
    while True:
        size = tuple(draw(st.integers(1, 9)) for _ in range(nd))
        ksize = tuple(draw(st.integers(1, 5)) for _ in range(nd))
        stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
        rhs = tuple(draw(st.integers(1, 3)) for _ in range(nd))
        lhs = tuple(draw(st.integers(1, 3)) for _ in range(nd))
        pads = tuple((draw(st.integers(-3, 4)), draw(st.integers(-3, 4))) for _ in range(nd))
        spec = ConvSpec(
            draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3)),
            draw(st.integers(1, 3)), size, ksize, stride, pads, lhs, rhs, draw(st.booleans()),
            draw(st.sampled_from(["float64", "complex128"])),
        )
        if all(e >= 1 for e in spec.padded_size) and all(o >= 1 for o in spec.out_size):
            return spec


@given(canonical_specs(), st.integers(0, 2**31 - 1))
def test_canonical_specs(spec, seed):
    r = np.random.default_rng(seed)
    cplx = spec.dtype == "complex128"

    def draw(shape):
        a = r.standard_normal(shape)
        return a + 1j * r.standard_normal(shape) if cplx else a

    x, w = draw(spec.x_shape), draw(spec.w_shape)
    # private: canonical specs (input dilation, flip, negative padding) run directly,
    # with the algorithm's own plan; no public call takes a spec
    phases, blocks = fft._plan(spec, C)[:2]
    got = jax.jit(lambda a, b: fft.run(a, b, spec, phases, blocks))(jnp.asarray(x), jnp.asarray(w))
    expected = canonical_ref(x, w, spec)
    # absolute scale: the largest possible output magnitude
    scale = np.abs(x).max() * np.abs(w).sum(axis=(0, 1)).max() + 1e-300
    assert got.shape == expected.shape
    assert np.abs(np.asarray(got) - expected).max() <= 1e-12 * scale


def test_no_tap_reaches_the_input():
    """Every window reads only inserted zeros: the result is exactly zero."""
    spec = ConvSpec(1, 1, 2, 2, (5,), (3,), (2,), ((1, 1),), (2,), (2,))
    x, w = jnp.ones(spec.x_shape, jnp.float64), jnp.ones(spec.w_shape, jnp.float64)
    assert fft._phases(spec)[0].empty  # private: the empty phase is what is tested
    y = fft.run(x, w, spec, *fft._plan(spec, C)[:2])
    assert y.shape == spec.y_shape and not np.any(np.asarray(y))
    np.testing.assert_array_equal(canonical_ref(x, w, spec), 0.0)


# -- accuracy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "xs, ws, kw",
    [
        ((2, 8, 64, 64), (8, 8, 15, 15), dict(padding="same")),
        ((1, 4, 40000), (2, 4, 301), dict(padding="valid")),
        ((2, 16, 30, 30), (16, 1, 9, 9), dict(padding=4, groups=16, stride=2)),
    ],
)
def test_float32_error_bound(xs, ws, kw):
    r"""||y32 - y||_2 <= 3 eps (log2 L + Ci) sum_c (||x_c||_2 ||w_c||_1 + ||x_c||_1 ||w_c||_2).

    Per output row (n, o); ``L`` is the number of points of one transformed frame.
    """
    r = np.random.default_rng(8)
    x, w = r.standard_normal(xs).astype(np.float32), r.standard_normal(ws).astype(np.float32)
    y32 = np.asarray(jconv.conv(x, w, algorithm=ALG, **kw), np.float64)
    y64 = np.asarray(jconv.conv(x.astype(np.float64), w.astype(np.float64), algorithm=ALG,
                                **kw))
    layer_spec = jconv.explain(xs, ws, algorithm=ALG, **kw)["forward"].spec
    L = math.prod(b.B for b in _blocks(layer_spec) if b.B)
    g = kw.get("groups", 1)
    n, ci_total = xs[:2]
    ci = ci_total // g
    co = ws[0] // g
    eps = np.finfo(np.float32).eps / 2
    xg = x.astype(np.float64).reshape(n, g, ci, -1)
    wg = w.astype(np.float64).reshape(g, co, ci, -1)
    x2, x1 = np.linalg.norm(xg, axis=-1), np.abs(xg).sum(-1)          # (n, g, ci)
    w2, w1 = np.linalg.norm(wg, axis=-1), np.abs(wg).sum(-1)          # (g, co, ci)
    bound = 3 * eps * (math.log2(L) + ci) * (
        np.einsum("ngc,goc->ngo", x2, w1) + np.einsum("ngc,goc->ngo", x1, w2)
    )
    err = np.linalg.norm((y32 - y64).reshape(n, g, co, -1), axis=-1)
    assert np.all(err <= bound), (err / bound).max()
    # and the float32 result is genuinely float32-accurate, not only within a loose bound
    rel = np.linalg.norm(y32 - y64) / np.linalg.norm(y64)
    assert 1e-9 < rel < 2e-6, rel


# -- refusal and helpers -------------------------------------------------------------------


def test_vmap_and_jvp_with_forced_fft():
    """Transformations reach the forced algorithm (batched specs, tangent convolutions)."""
    r = np.random.default_rng(12)
    x, w = r.standard_normal((3, 2, 4, 20)), r.standard_normal((3, 5, 4, 7))  # per-example w
    f = lambda x, w: jconv.conv(x, w, stride=2, padding=3, algorithm=ALG)  # noqa: E731
    got = jax.vmap(f)(x, w)
    for i in range(3):
        close(got[i], conv_ref(x[i], w[i], None, 2, ((3, 3),)))
    tx, tw = r.standard_normal(x[0].shape), r.standard_normal(w[0].shape)
    y, ty = jax.jvp(f, (x[0], w[0]), (tx, tw))
    close(y, conv_ref(x[0], w[0], None, 2, ((3, 3),)))
    close(ty, conv_ref(tx, w[0], None, 2, ((3, 3),)) + conv_ref(x[0], tw, None, 2, ((3, 3),)))


def test_integer_dtype_is_refused():
    x, w = jnp.ones((1, 2, 9), jnp.int32), jnp.ones((2, 2, 3), jnp.int32)
    with pytest.raises(
        jconv.AlgorithmRefused,
        match=r"jconv\.conv: algorithm='fft' cannot compute the forward pass: integer "
        r"convolution must be exact; FFT rounds \(dtype int32\)",
    ):
        jconv.conv(x, w, algorithm=ALG)
    with pytest.raises(jconv.AlgorithmRefused, match="FFT rounds"):
        jconv.convolve(jnp.arange(5), jnp.arange(3), method=ALG)
    assert jconv.conv(x, w).dtype == jnp.int32  # "auto" picks an exact algorithm


def test_half_precision_accumulates_in_float32():
    """float16/bfloat16 operands are multiplied and summed in float32, then rounded once.

    4096 positive products of about 1 per output: summed in half precision the running
    sum stalls once its spacing reaches the size of a term (at 2048 in float16, 256 in
    bfloat16), about a hundred units in the last place (ulp) off; accumulated in float32
    and rounded once at the end, every output is the exact sum correctly rounded, up to
    the float32 error (a few thousandths of an ulp here): within 0.52 ulp of it.
    """
    r = np.random.default_rng(9)
    for dt in (jnp.float16, jnp.bfloat16):
        x = np.asarray(jnp.asarray(r.uniform(0.5, 1.5, (2, 32, 140)), dt))
        w = np.asarray(jnp.asarray(r.uniform(0.5, 1.5, (2, 32, 128)), dt))
        exact = conv_ref(x.astype(np.float64), w.astype(np.float64))
        naive = conv_ref(x, w)  # every product and running sum rounded to dt
        assert naive.dtype == dt
        assert np.median(_ulps(naive, exact)) > 20, np.median(_ulps(naive, exact))
        y = jconv.conv(jnp.asarray(x), jnp.asarray(w), algorithm=ALG)
        assert y.dtype == dt
        assert _ulps(y, exact).max() <= 0.52, _ulps(y, exact).max()


def _ulps(a, exact):
    """``|a - exact|`` in units of the last place of ``a`` (positive, normal, half precision)."""
    ulp = 2.0 ** (np.floor(np.log2(np.asarray(a, np.float64))) - jnp.finfo(a.dtype).nmant)
    return np.abs(np.asarray(a, np.float64) - exact) / ulp


def _smooth(m):
    for p in (2, 3, 5, 7):
        while m % p == 0:
            m //= p
    return m == 1


def test_next_fast_len():
    for n in range(1, 3000):
        m = fft.next_fast_len(n)
        assert m >= n and _smooth(m)
        assert not any(_smooth(k) for k in range(n, m))
    for n in (65537, 1000001, 3 * 7**6 + 1):
        m = fft.next_fast_len(n)
        assert _smooth(m) and not any(_smooth(k) for k in range(n, m))
    assert fft.next_fast_len(65537) == 65610  # 2 * 3**8 * 5
    assert fft.next_fast_len(2**20) == 2**20
    with pytest.raises(ValueError, match="next_fast_len: n must be >= 1, got 0"):
        fft.next_fast_len(0)


def test_cost_is_positive_and_grows():
    """The time and workspace `jconv.explain` reports for the FFT form grow with the layer."""
    small = _form((1, 4, 32, 32), (4, 4, 9, 9), padding=4)
    big = _form((8, 4, 128, 128), (4, 4, 9, 9), padding=4)
    assert 0 < small.seconds < big.seconds and 0 < small.workspace < big.workspace


@pytest.fixture
def fresh_plans():
    """Forget cached plans and jconv's compiled functions before and after the test, so
    that it traces under its own settings and leaves nothing computed under them."""

    _select.clear_plans()
    yield
    _select.clear_plans()


def test_batch_chunks(monkeypatch, fresh_plans):
    """Processing the batch in cache-sized chunks gives the same result, every pass."""
    monkeypatch.setattr(fft, "CHUNK_BYTES", 1)
    mapped = []  # the number of chunks of every chunked loop traced

    def map_chunks(fn, xs, *args, **kwargs):
        mapped.append(xs.shape[0])
        return original(fn, xs, *args, **kwargs)

    original = fft.map_chunks
    monkeypatch.setattr(fft, "map_chunks", map_chunks)
    r = np.random.default_rng(10)
    x, w = r.standard_normal((6, 4, 11, 9)), r.standard_normal((6, 2, 4, 3))
    kw = dict(stride=(2, 1), pads=((2, 1), (1, 1)), dilation=1, groups=2)
    plan = jconv.explain(x.shape, w.shape, algorithm=ALG, dtype="float64", **_jconv_kw(kw))
    passes = [plan[role].spec for role in ("forward", "input_grad", "kernel_grad")]
    # private: explain reports the frames, not the batch chunk
    assert [fft._chunk(s, *fft._plan(s, C)[:2]) for s in passes] == [1, 1, 1]
    y = conv_ref(x, w, None, **kw)
    dy = r.standard_normal(y.shape)
    dx, dw = vjp_ref(x, w, dy, **kw)
    close(jconv.conv(x, w, algorithm=ALG, **_jconv_kw(kw)), y)
    close(jconv.conv_input_grad(dy, w, x.shape, algorithm=ALG, **_jconv_kw(kw)), dx)
    close(jconv.conv_kernel_grad(x, dy, w.shape, algorithm=ALG, **_jconv_kw(kw)), dw)
    # each pass ran one chunk (one batch element of its spec) per step
    assert mapped == [s.batch for s in passes] and min(mapped) > 1, mapped
