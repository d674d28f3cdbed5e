"""dtypes: half precision accumulates in float32, complex works, integers are exact."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference import conv_ref, conv_transpose_ref

import jconv
from jconv._select import choose, refusal
from jconv._spec import conv_layer

rng = np.random.default_rng(3)
KW = dict(stride=(1, 2), padding=1, dilation=(2, 1), groups=2)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_accumulates_in_float32(dtype):
    # 4 * 9 * 16 = 576 terms of size ~1: a half-precision accumulator would lose ~3 digits
    x = jnp.asarray(rng.uniform(0.5, 1.5, (2, 32, 9, 9)), dtype)
    w = jnp.asarray(rng.uniform(0.5, 1.5, (4, 16, 3, 3)), dtype)
    y = jconv.conv(x, w, **KW)
    assert y.dtype == dtype
    exact = conv_ref(np.asarray(x, np.float64), np.asarray(w, np.float64), None, (1, 2), 1, (2, 1), 2)
    # one rounding of the float32 sum to the half type: relative error <= its eps
    eps = float(jnp.finfo(dtype).eps)
    np.testing.assert_allclose(np.asarray(y, np.float64), exact, rtol=eps, atol=0)
    g = jax.grad(lambda w: jnp.sum(jconv.conv(x, w, **KW).astype(jnp.float32)))(w)
    assert g.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_float_and_complex_dtypes(dtype):
    x = rng.standard_normal((2, 4, 7, 6)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 2)).astype(dtype)
    if np.iscomplexobj(x):
        x = x + 1j * rng.standard_normal(x.shape).astype(dtype)
        w = w + 1j * rng.standard_normal(w.shape).astype(dtype)
    y = jconv.conv(x, w, **KW)
    assert y.dtype == dtype
    tol = 1e-5 if dtype in (np.float32, np.complex64) else 1e-12
    ref = conv_ref(x.astype(np.complex128), w.astype(np.complex128), None, (1, 2), 1, (2, 1), 2)
    np.testing.assert_allclose(y, ref, rtol=0, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8])
def test_integers_are_exact_with_every_algorithm(dtype):
    info = np.iinfo(dtype)
    lo, hi = (0, 4) if info.min == 0 else (-4, 4)
    x = rng.integers(lo, hi, (2, 4, 7, 6)).astype(dtype)
    w = rng.integers(lo, hi, (6, 2, 3, 2)).astype(dtype)
    ref = conv_ref(x.astype(np.int64), w.astype(np.int64), None, (1, 2), 1, (2, 1), 2)
    ref = ref.astype(dtype)  # wraps modulo 2**bits, like the integer arithmetic itself
    spec = conv_layer("t", x.shape, w.shape, dtype, **KW).spec
    for name in jconv.algorithms():
        if refusal(name, spec) is not None:
            continue
        y = jconv.conv(x, w, algorithm=name, **KW)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, ref, err_msg=name)
    np.testing.assert_array_equal(jconv.conv(x, w, **KW), ref)


def test_large_integers_are_exact_beyond_float_precision():
    # products near 2**40: float64 would still be exact, float32 not; int64 must be exact
    x = rng.integers(-(2**20), 2**20, (1, 3, 9)).astype(np.int64)
    w = rng.integers(-(2**20), 2**20, (2, 3, 4)).astype(np.int64)
    np.testing.assert_array_equal(jconv.conv(x, w, padding=2), conv_ref(x, w, None, 1, 2))
    wt = w.transpose(1, 0, 2)  # (C_in=3, C_out=2, K)
    np.testing.assert_array_equal(jconv.conv_transpose(x, wt, stride=2),
                                  conv_transpose_ref(x, wt, None, 2))
    a = rng.integers(-1000, 1000, 50).astype(np.int32)
    b = rng.integers(-1000, 1000, 31).astype(np.int32)
    np.testing.assert_array_equal(jconv.convolve(a, b), np.convolve(a.astype(np.int64), b).astype(np.int32))


def test_auto_never_picks_a_rounding_algorithm_for_integers():
    for shape_x, shape_w, kw in [((1, 1, 4096), (1, 1, 1025), {}), ((1, 8, 64, 64), (8, 8, 15, 15), {}),
                                 ((2, 16, 32, 32), (16, 16, 3, 3), {})]:
        spec = conv_layer("t", shape_x, shape_w, np.int32, **kw).spec
        for s in (spec, spec.input_grad(), spec.kernel_grad()):
            assert choose(s).name not in ("fft", "winograd")


def test_mixed_dtypes_promote():
    x = rng.standard_normal((1, 2, 5)).astype(np.float32)
    w = rng.standard_normal((3, 2, 2))
    assert jconv.conv(x, w).dtype == jnp.float64
    assert jconv.conv(x.astype(np.int32), w.astype(np.float32)).dtype == jnp.float32
