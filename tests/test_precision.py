"""The precision policy: ``precision=HIGHEST`` gives lax's numerics (the same products,
the same zeros, the same non-finite outputs), and precision values are validated."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jconv
from jconv import _select

HIGHEST = lax.Precision.HIGHEST


# Each layer: jconv's call and jax.lax's own (the oracle, differentiated by JAX).
def _conv_pair(padding, nd, stride=1):
    def ours(x, w, **kw):
        return jconv.conv(x, w, stride=stride, padding=padding, **kw)

    def theirs(x, w):
        return lax.conv_general_dilated(x, w, (stride,) * nd, [(padding, padding)] * nd)

    return ours, theirs


def _transpose_pair(stride, padding, k, nd):
    def ours(x, w, **kw):
        return jconv.conv_transpose(x, w, stride=stride, padding=padding, **kw)

    def theirs(x, w):
        wf = jnp.swapaxes(jnp.flip(w, tuple(range(2, 2 + nd))), 0, 1)
        edge = k - 1 - padding
        return lax.conv_general_dilated(x, wf, (1,) * nd, [(edge, edge)] * nd,
                                        lhs_dilation=(stride,) * nd)

    return ours, theirs


LAYERS = {
    "15x15": ((2, 4, 24, 24), (4, 4, 15, 15), *_conv_pair(7, 2)),
    "1-D 257 taps": ((1, 1, 1024), (1, 1, 257), *_conv_pair(128, 1)),
    "transposed": ((2, 4, 8, 8), (4, 3, 4, 4), *_transpose_pair(2, 1, 4, 2)),
    "3-D": ((1, 3, 8, 8, 8), (3, 3, 3, 3, 3), *_conv_pair(1, 3)),
}


def _poison(a, index, value):
    a = np.array(a)
    a[index] = value
    return a


def _nonfinite(a):
    return ~np.isfinite(np.asarray(a))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_highest_gives_lax_nonfinite_sets_in_every_pass(name):
    """One NaN or Inf in x, in w or in the cotangent: under HIGHEST the non-finite
    outputs of the forward pass and both gradients are exactly lax's."""
    xs, ws, ours, theirs = LAYERS[name]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    corner = (0, 0) + (0,) * (len(xs) - 2)
    inner = (0, xs[1] - 1) + tuple(n // 2 for n in xs[2:])
    cases = [("x", inner, np.nan), ("x", corner, np.inf), ("w", corner, np.nan),
             ("w", (0, 0) + tuple(k // 2 for k in ws[2:]), np.inf)]
    y_shape = jax.eval_shape(theirs, x, w).shape
    for arg, index, value in cases:
        xp = _poison(x, index, value) if arg == "x" else x
        wp = _poison(w, index, value) if arg == "w" else w
        want, want_vjp = jax.vjp(theirs, xp, wp)
        got, got_vjp = jax.vjp(lambda a, b: ours(a, b, precision="highest"), xp, wp)
        np.testing.assert_array_equal(_nonfinite(got), _nonfinite(want), err_msg=(name, arg))
        ct = rng.standard_normal(y_shape).astype(np.float32)
        for g, r in zip(got_vjp(ct), want_vjp(ct)):
            np.testing.assert_array_equal(_nonfinite(g), _nonfinite(r), err_msg=(name, arg))
    # a NaN in the cotangent
    ct = _poison(rng.standard_normal(y_shape).astype(np.float32), (0, 0) + tuple(
        n // 3 for n in y_shape[2:]), np.nan)
    _, want_vjp = jax.vjp(theirs, x, w)
    _, got_vjp = jax.vjp(lambda a, b: ours(a, b, precision=HIGHEST), x, w)
    for g, r in zip(got_vjp(ct), want_vjp(ct)):
        np.testing.assert_array_equal(_nonfinite(g), _nonfinite(r), err_msg=(name, "ct"))
    # every pass's choice under HIGHEST is an exact form
    for p in jconv.explain(xs, ws, precision="highest", **_kw(name)).passes:
        chosen = next(c for c in p.candidates if c.name == p.chosen)
        assert chosen.exact, (name, p.role, p.chosen)


def _kw(name):
    return {"15x15": dict(padding=7), "1-D 257 taps": dict(padding=128),
            "transposed": dict(transpose=True, stride=2, padding=1),
            "3-D": dict(padding=1)}[name]


def test_default_matmul_precision_highest_is_the_policy():
    xs, ws, ours, theirs = LAYERS["15x15"]
    rng = np.random.default_rng(2)
    x = _poison(rng.standard_normal(xs).astype(np.float32), (0, 1, 12, 12), np.nan)
    w = rng.standard_normal(ws).astype(np.float32)
    assert "fft" in {p.chosen for p in jconv.explain(xs, ws, padding=7).passes}
    with jax.default_matmul_precision("highest"):
        got = ours(x, w)
        plan = jconv.explain(xs, ws, padding=7)
    np.testing.assert_array_equal(_nonfinite(got), _nonfinite(theirs(x, w)))
    assert all(p.highest for p in plan.passes)


def test_convolve_follows_default_matmul_precision():
    """convolve has SciPy's signature (no precision), but the policy reads JAX's default."""
    rng = np.random.default_rng(9)
    a = _poison(rng.standard_normal(2048).astype(np.float32), 1000, np.nan)
    b = rng.standard_normal(257).astype(np.float32)
    want = np.isnan(np.convolve(a.astype(np.float64), b.astype(np.float64)))
    assert np.isnan(np.asarray(jconv.convolve(a, b))).sum() > want.sum()  # fft: spread
    with jax.default_matmul_precision("highest"):
        np.testing.assert_array_equal(np.isnan(np.asarray(jconv.convolve(a, b))), want)


def test_highest_is_exact_on_integer_valued_data_and_keeps_quiet_regions():
    """Integer-valued float32 data is exact (as in lax); an input at 1e6 in one region
    and 1e-3 elsewhere keeps the quiet outputs within 2x lax's error."""
    xs, ws, ours, theirs = LAYERS["15x15"]
    rng = np.random.default_rng(3)
    x = rng.integers(-8, 9, xs).astype(np.float32)
    w = rng.integers(-8, 9, ws).astype(np.float32)
    exact = np.asarray(theirs(x.astype(np.float64), w.astype(np.float64)))
    np.testing.assert_array_equal(np.asarray(theirs(x, w)), exact)
    np.testing.assert_array_equal(np.asarray(ours(x, w, precision="highest")), exact)
    x = np.full(xs, 1e-3, np.float32) * rng.standard_normal(xs).astype(np.float32)
    x[..., :6, :6] = 1e6
    w = rng.standard_normal(ws).astype(np.float32)
    ref = np.asarray(theirs(x.astype(np.float64), w.astype(np.float64)))
    quiet = (slice(None), slice(None), slice(14, None), slice(14, None))  # beyond its reach

    def err(y):
        return np.linalg.norm(np.asarray(y, np.float64)[quiet] - ref[quiet]) / np.linalg.norm(
            ref[quiet])

    assert err(ours(x, w, precision="highest")) <= 2 * err(theirs(x, w)) + 1e-7


@pytest.mark.parametrize("value, message", [
    ("bogus", "jconv.conv: precision must be None, a jax.lax.Precision, one of the names"),
    (("highest", "high", "default"), "jconv.conv: a precision pair has two entries"),
    (3, "jconv.conv: precision must be None, a jax.lax.Precision"),
])
def test_precision_is_validated_whatever_algorithm_runs(value, message):
    x, w = jnp.ones((1, 2, 6, 6)), jnp.ones((2, 2, 3, 3))
    for algorithm in ("auto", "taps", "fft"):
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            jconv.conv(x, w, algorithm=algorithm, precision=value)


def test_precision_names_and_pairs_are_accepted():
    x = np.random.default_rng(4).standard_normal((1, 2, 6, 6)).astype(np.float32)
    w = np.random.default_rng(5).standard_normal((2, 2, 3, 3)).astype(np.float32)
    ref = jconv.conv(x, w, precision=HIGHEST)
    for p in ("highest", "float32", ["highest", "highest"], (HIGHEST, "highest")):
        np.testing.assert_array_equal(jconv.conv(x, w, precision=p), ref)
    assert jconv.conv(x, w, precision=("highest", "default")).shape == ref.shape


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exact_forms_match_lax_products_on_every_pass(dtype):
    """Every form marked exact, forced on every pass of padded, strided, 1-D and
    input-dilated layers with an Inf in the kernel's corner: its non-finite outputs are
    XLA's (whose products with padding differ between float32 and float64)."""
    planner = _select._planner("cpu")
    layers = [
        jconv.explain((1, 2, 9, 9), (3, 2, 3, 3), padding=1, dtype=dtype),
        jconv.explain((1, 2, 9, 9), (3, 2, 3, 3), padding=1, stride=2, dtype=dtype),
        jconv.explain((1, 2, 16), (3, 2, 3), padding=1, stride=2, dtype=dtype),
        jconv.explain((1, 2, 6, 6), (2, 3, 4, 4), transpose=True, stride=2, padding=1,
                      dtype=dtype),
        jconv.explain((1, 2, 9, 9), (3, 2, 3, 3), padding=0, dtype=dtype),
        jconv.explain((1, 2, 9, 9), (3, 2, 3, 3), padding=0, stride=2, dtype=dtype),
    ]
    checked = set()
    rng = np.random.default_rng(6)
    for plan in layers:
        for p in plan.passes:
            s = p.spec
            x = rng.standard_normal(s.x_shape).astype(dtype)
            w = _poison(rng.standard_normal(s.w_shape).astype(dtype), (0, 0, 0) + (0,) * s.ndim,
                        np.inf)
            want = _nonfinite(jax.jit(lambda a, b, s=s: planner.forced("xla", s).run(a, b))(x, w))
            for name, answer in planner.plans(s).items():
                if isinstance(answer, str):
                    continue
                for form in answer:
                    if not form.exact:
                        continue
                    got = jax.jit(lambda a, b, f=form: f.run(a, b, None))(x, w)
                    np.testing.assert_array_equal(_nonfinite(got), want, err_msg=(name, s))
                    checked.add(form.key)
    assert {"xla", "im2col.taps", "im2col.positions", "col2im"} <= checked, checked


# (x shape, w shape, keywords): auto picks fft, winograd and the direct methods among them
BOUND_LAYERS = [
    ((4, 64, 28, 28), (64, 64, 3, 3), dict(padding=1)),
    ((2, 4, 24, 24), (4, 4, 15, 15), dict(padding=7)),
    ((2, 16, 24, 24), (16, 1, 3, 3), dict(padding=1, groups=16)),
    ((4, 16, 1024), (16, 16, 3), dict(padding=1)),
    ((1, 1, 4096), (1, 1, 257), dict(padding=128)),
    ((2, 8, 12, 12, 12), (8, 8, 3, 3, 3), dict(padding=1)),
    ((2, 16, 10, 10), (16, 8, 4, 4), dict(transpose=True, stride=2, padding=1)),
]


def _error(choice, x, w, ref):
    y = jax.jit(lambda a, b: choice.run(a, b))(x, w)
    return np.linalg.norm(np.asarray(y, np.float64) - ref) / np.linalg.norm(ref)


def test_default_policy_stays_within_four_times_lax_error():
    """Every pass auto picks, on standard-normal float32 data: normwise error against a
    float64 reference at most 4x that of XLA's convolution in float32, or of a plain
    float32 direct sum (`im2col`, one matrix product) where that is larger: on some CPUs
    XLA's kernel gradients sum more accurately than any float32 direct sum (an AMD EPYC:
    `im2col` at 2.4-3.0x XLA's error on the 3-D kernel gradient below)."""
    planner = _select._planner("cpu")
    chosen = set()
    rng = np.random.default_rng(7)
    for xs, ws, kw in BOUND_LAYERS:
        for p in jconv.explain(xs, ws, **kw).passes:
            s = p.spec
            s64 = jconv.explain(xs, ws, dtype="float64", **kw)[p.role].spec
            x = rng.standard_normal(s.x_shape).astype(np.float32)
            w = rng.standard_normal(s.w_shape).astype(np.float32)
            ref = np.asarray(jax.jit(lambda a, b, s=s64: planner.forced("xla", s).run(a, b))(
                x.astype(np.float64), w.astype(np.float64)))

            auto = planner.auto(s)
            chosen.add(auto.name)
            mine, lax_error = (_error(c, x, w, ref) for c in (auto, planner.forced("xla", s)))
            direct = 0.0 if _select.refusal("im2col", s) else _error(
                planner.forced("im2col", s), x, w, ref)
            bound = max(lax_error, direct)
            assert mine <= 4 * bound, (xs, ws, p.role, auto.name, mine / lax_error, direct)
    assert {"fft", "winograd"} <= chosen, chosen


def test_fft_overflows_no_earlier_than_the_direct_sum():
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((1, 1, 48, 48)) * 5e34).astype(np.float32)
    w = (rng.standard_normal((1, 1, 31, 31)) * 0.03).astype(np.float32)
    ref = np.asarray(lax.conv_general_dilated(x.astype(np.float64), w.astype(np.float64),
                                              (1, 1), [(15, 15)] * 2))
    assert np.abs(ref).max() < np.finfo(np.float32).max
    y = np.asarray(jconv.conv(x, w, padding=15, algorithm="fft"), np.float64)
    assert np.isfinite(y).all()
    assert np.linalg.norm(y - ref) <= 1e-5 * np.linalg.norm(ref)
    # a non-finite input is never lost
    x[0, 0, 20, 20] = np.inf
    assert not np.isfinite(np.asarray(jconv.conv(x, w, padding=15, algorithm="fft"))).all()
