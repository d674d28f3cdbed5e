"""jconv.lax against jax.lax: the convolution tests of JAX's own suite, ported.

The cases come from JAX's tests/lax_test.py (testConv, testConvPreferredElement,
testConvWithGeneralPadding, testConvGeneralDilated0D, testConvGeneralDilated,
testConv0DIsDot, testGradConv0D, testConvTranspose2DT/2D/1D/0D,
testConvTransposePaddingList) and tests/lax_autodiff_test.py (testConvGrad,
testConvWithGeneralPaddingGrad, testConvGeneralDilatedGrad), with jax.lax as the
oracle: same arguments, same result (shape, dtype and values), same VJPs and JVPs.
JAX runs the full product of each test's parameters; here a seeded sample of each
product keeps the file quick, and every case runs under one `jit` with its oracle.
"""

import inspect
import itertools
import random
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jconv
import jconv.lax as jlax
from jconv import _lax

FLOAT = [jnp.bfloat16, np.float16, np.float32, np.float64]
INT = [np.int8, np.int16, np.int32, np.int64]
UINT = [np.uint8, np.uint16, np.uint32, np.uint64]
COMPLEX = [np.complex64, np.complex128]
ALL = [np.bool_, *INT, *UINT, *FLOAT, *COMPLEX]
GRAD = [jnp.bfloat16, np.float32, np.float64]

# relative to the largest magnitude of the oracle's result
TOL = {
    np.dtype(jnp.bfloat16): 3e-2, np.dtype(np.float16): 5e-3, np.dtype(np.float32): 2e-5,
    np.dtype(np.float64): 1e-12, np.dtype(np.complex64): 2e-5, np.dtype(np.complex128): 1e-12,
}

rng = np.random.default_rng(0)


def sample(cases, k, seed):
    """A seeded sample of ``k`` cases of a parameter product (all if fewer)."""
    cases = list(cases)
    return random.Random(seed).sample(cases, min(k, len(cases)))


def rand(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return jnp.asarray(rng.random(shape) > 0.5)
    if jnp.issubdtype(dtype, np.unsignedinteger):
        return jnp.asarray(rng.integers(0, 4, shape).astype(dtype))
    if jnp.issubdtype(dtype, np.integer):
        return jnp.asarray(rng.integers(-3, 4, shape).astype(dtype))
    a = rng.standard_normal(shape)
    if jnp.issubdtype(dtype, np.complexfloating):
        a = a + 1j * rng.standard_normal(shape)
    return jnp.asarray(a.astype(dtype))


def assert_matches(got, want, tol=None):
    """Same shape and dtype; values equal (integers, bool) or close for the dtype (or
    within ``tol``, relative to the largest magnitude)."""
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        dtype, g, w = np.dtype(w.dtype), np.asarray(g), np.asarray(w)
        if not jnp.issubdtype(dtype, np.inexact):
            np.testing.assert_array_equal(g, w)
            continue
        g, w = g.astype(np.complex128), w.astype(np.complex128)
        scale = max(float(np.max(np.abs(w), initial=0.0)), 1.0)
        np.testing.assert_allclose(g, w, rtol=0, atol=(tol or TOL[dtype]) * scale)


def check_against_lax(name, args, kwargs=None, tol=None):
    """``jconv.lax.<name>`` and ``jax.lax.<name>`` on the same arguments, in one jit
    (the two operands traced, the other arguments static)."""
    (lhs, rhs, *rest), kwargs = args, kwargs or {}
    ours, theirs = getattr(jlax, name), getattr(jax.lax, name)
    got, want = jax.jit(lambda x, w: (ours(x, w, *rest, **kwargs), theirs(x, w, *rest, **kwargs)))(
        lhs, rhs)
    assert_matches(got, want, tol)
    return got


def _close(got, want, tol):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert g.shape == w.shape and g.dtype == w.dtype
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        scale = max(float(np.max(np.abs(w), initial=0.0)), 1.0)
        np.testing.assert_allclose(g, w, rtol=0, atol=tol * scale)


def check_derivatives_against_lax(name, lhs, rhs, kwargs, tol):
    """VJP (both operands) and JVP of ``jconv.lax.<name>`` against ``jax.lax.<name>``."""
    ours = lambda x, w: getattr(jlax, name)(x, w, **kwargs)  # noqa: E731
    theirs = lambda x, w: getattr(jax.lax, name)(x, w, **kwargs)  # noqa: E731
    out = jax.eval_shape(theirs, lhs, rhs)
    ct, tx, tw = rand(out.shape, out.dtype), rand(lhs.shape, lhs.dtype), rand(rhs.shape, rhs.dtype)

    @jax.jit
    def both(lhs, rhs, ct, tx, tw):
        def derivatives(f):
            y, pullback = jax.vjp(f, lhs, rhs)
            return y, pullback(ct), jax.jvp(f, (lhs, rhs), (tx, tw))[1]

        return derivatives(ours), derivatives(theirs)

    got, want = both(lhs, rhs, ct, tx, tw)
    _close(got, want, tol)


# ---------------------------------------------------------------------------------------
# lax_test.py
# ---------------------------------------------------------------------------------------

SHAPES_23 = [((b, i, 9, 10), (j, i, 4, 5)) for b, i, j in itertools.product([2, 3], repeat=3)]
SHAPES_123 = [((b, i, 9, 10), (j, i, 4, 5)) for b, i, j in itertools.product([1, 2, 3], repeat=3)]

CONV = sample(
    itertools.product(SHAPES_23, FLOAT, [(1, 1), (1, 2), (2, 1)], ["VALID", "SAME", "SAME_LOWER"]),
    14, seed=1,
)


@pytest.mark.parametrize("shapes,dtype,strides,padding", CONV)
def test_conv(shapes, dtype, strides, padding):
    lhs, rhs = rand(shapes[0], dtype), rand(shapes[1], dtype)
    check_against_lax("conv", (lhs, rhs, strides, padding))


PREFERRED = [
    (np.float16, np.float16), (np.float16, np.float32), (np.float16, np.float64),
    (jnp.bfloat16, jnp.bfloat16), (jnp.bfloat16, np.float32), (jnp.bfloat16, np.float64),
    (np.float32, np.float32), (np.float32, np.float64), (np.float64, np.float64),
    (np.int8, np.int8), (np.int8, np.int16), (np.int8, np.int32), (np.int8, np.int64),
    (np.int16, np.int16), (np.int16, np.int32), (np.int16, np.int64), (np.int32, np.int32),
    (np.int32, np.int64), (np.int64, np.int64), (np.complex64, np.complex64),
    (np.complex64, np.complex128), (np.complex128, np.complex128), (np.int8, np.float16),
    (np.int8, jnp.bfloat16), (np.int8, np.float32), (np.int8, np.float64),
    (np.int16, np.float16), (np.int16, jnp.bfloat16), (np.int16, np.float32),
    (np.int16, np.float64), (np.int32, np.float32), (np.int32, np.float64),
    (np.int64, np.float64),
]


@pytest.mark.parametrize("shapes,types", sample(itertools.product(SHAPES_23, PREFERRED), 12, seed=2))
def test_conv_preferred_element_type(shapes, types):
    dtype, preferred = types
    lhs, rhs = rand(shapes[0], dtype), rand(shapes[1], dtype)
    # lax's wider result is as accurate as its operands' dtype (JAX's test says so too)
    got = check_against_lax("conv", (lhs, rhs, (1, 1), "VALID"),
                            dict(preferred_element_type=preferred), TOL.get(np.dtype(dtype)))
    assert got.dtype == np.dtype(preferred)


GENERAL_PADDING = sample(
    itertools.product(
        SHAPES_123, FLOAT, [(1, 1), (1, 2), (2, 1)], [((0, 0), (0, 0)), ((1, 2), (2, 0))],
        [(1, 1), (1, 2), (2, 2)], [(1, 1), (1, 2), (2, 2)],
    ),
    16, seed=3,
)


@pytest.mark.parametrize("shapes,dtype,strides,padding,lhs_dil,rhs_dil", GENERAL_PADDING)
def test_conv_with_general_padding(shapes, dtype, strides, padding, lhs_dil, rhs_dil):
    lhs, rhs = rand(shapes[0], dtype), rand(shapes[1], dtype)
    check_against_lax("conv_with_general_padding",
                      (lhs, rhs, strides, padding, lhs_dil, rhs_dil))


GROUPINGS = [(1, 1), (2, 1), (1, 2)]  # (batch_group_count, feature_group_count)


@pytest.mark.parametrize(
    "groups,bij,dtype",
    sample(itertools.product(GROUPINGS, itertools.product([2, 3], repeat=3), ALL), 12, seed=4),
)
def test_conv_general_dilated_0d(groups, bij, dtype):
    (bgc, fgc), (b, i, j) = groups, bij
    lhs = rand((b * bgc, i * fgc), dtype)
    rhs = rand((j * fgc * bgc, i), dtype)
    check_against_lax(
        "conv_general_dilated", (lhs, rhs, (), ()),
        dict(dimension_numbers=("NC", "OI", "NC"), feature_group_count=fgc,
             batch_group_count=bgc),
    )


LAYOUTS = [
    (("NCHW", "OIHW", "NCHW"), ([0, 1, 2, 3], [0, 1, 2, 3])),
    (("NHWC", "HWIO", "NHWC"), ([0, 2, 3, 1], [2, 3, 1, 0])),
    (("NCHW", "HWIO", "NHWC"), ([0, 1, 2, 3], [2, 3, 1, 0])),
]

GENERAL_DILATED = sample(
    itertools.product(
        GROUPINGS, [0, 10], itertools.product([2, 3], repeat=3), LAYOUTS, ALL,
        [(1, 1), (2, 1)], [((1, 2), (2, 0)), ((10, 8), (7, 13))],
        [(1, 1), (1, 2), (1, 4)], [(1, 1), (1, 2), (1, 4)],
    ),
    32, seed=5,
)


@pytest.mark.parametrize(
    "groups,width,bij,layout,dtype,strides,padding,lhs_dil,rhs_dil", GENERAL_DILATED
)
def test_conv_general_dilated(groups, width, bij, layout, dtype, strides, padding, lhs_dil,
                              rhs_dil):
    (bgc, fgc), (b, i, j), (dn, (lhs_perm, rhs_perm)) = groups, bij, layout
    lhs = jnp.transpose(rand((b * bgc, i * fgc, 9, width), dtype), lhs_perm)
    rhs = jnp.transpose(rand((j * fgc * bgc, i, 4, 5), dtype), rhs_perm)
    check_against_lax(
        "conv_general_dilated", (lhs, rhs, strides, padding, lhs_dil, rhs_dil, dn),
        dict(feature_group_count=fgc, batch_group_count=bgc),
    )


# The dimension numbers of testConvGeneralDilatedPatchesNonOverlapping: arbitrary
# permutations of every role, 0 to 3 spatial dims.
ODD_LAYOUTS = [
    ((2, 5), (7, 5), (), [], ("NC", "OI", "CN")),
    ((2, 3, 4), (3, 2, 2), (2,), [(0, 2)], ("CNH", "OHI", "HNC")),
    ((3, 1, 4, 5), (2, 1, 1, 3), (1, 3), [(3, 1), (2, 2)], ("NCHW", "OIHW", "NCHW")),
    ((1, 2, 3, 4), (3, 3, 2, 2), (1, 1), [(0, 0), (0, 0)], ("NCWH", "OHWI", "CNHW")),
    ((1, 2, 3, 4), (3, 4, 2, 1), (1, 1), [(0, 0), (0, 0)], ("CWHN", "HOWI", "NCHW")),
    ((2, 3, 4, 5, 6), (2, 3, 6, 1, 4), (2, 1, 3), [(1, 2), (5, 3), (3, 5)],
     ("NHWDC", "HDIWO", "DCWNH")),
]


@pytest.mark.parametrize("lhs_shape,rhs_shape,strides,padding,dn", ODD_LAYOUTS)
def test_dimension_numbers_of_any_permutation(lhs_shape, rhs_shape, strides, padding, dn):
    lhs, rhs = rand(lhs_shape, np.float32), rand(rhs_shape, np.float32)
    check_against_lax("conv_general_dilated", (lhs, rhs, strides, padding),
                      dict(dimension_numbers=dn))
    ours = _lax.dimension_numbers("f", dn, len(lhs_shape))
    theirs = jax.lax.conv_dimension_numbers(lhs_shape, rhs_shape, dn)
    assert ours == tuple(map(tuple, theirs))
    as_numbers = jax.lax.ConvDimensionNumbers(*ours)
    check_against_lax("conv_general_dilated", (lhs, rhs, strides, padding),
                      dict(dimension_numbers=as_numbers))


def test_conv_0d_is_dot():
    lhs, rhs = rand((10, 5), np.float32), rand((5, 7), np.float32)
    y = jlax.conv_general_dilated(lhs, rhs, (), "VALID", dimension_numbers=("NC", "IO", "NC"))
    np.testing.assert_allclose(y, np.asarray(lhs) @ np.asarray(rhs), rtol=1e-5, atol=1e-5)


def test_grad_conv_0d():
    lhs, rhs = np.ones((2, 5), np.float32), np.ones((5, 10), np.float32)

    def f(lhs, rhs):
        return jlax.conv_general_dilated(
            lhs, rhs, window_strides=(), padding=(), lhs_dilation=(), rhs_dilation=(),
            dimension_numbers=jax.lax.ConvDimensionNumbers((0, 1), (1, 0), (0, 1)),
            batch_group_count=1, feature_group_count=1, precision=None,
            preferred_element_type=None,
        )

    y, pullback = jax.vjp(f, lhs, rhs)
    dlhs, drhs = pullback(np.ones_like(y))
    np.testing.assert_allclose(dlhs, lhs * 10.0)
    np.testing.assert_allclose(drhs, rhs * 2.0)


TRANSPOSE_PADDINGS = [
    *itertools.product(itertools.product([0, 1, 2], [0, 1, 2]), itertools.product([0, 1, 2], [0, 1, 2])),
    "VALID", "SAME",
]


def _transpose_2d_cases(flipped_io, seed, k):
    shapes = [
        ((b, 9, 10, i), (kk, kk, j, i) if flipped_io else (kk, kk, i, j))
        for b, i, j, kk in itertools.product([2, 3], [2, 3], [2, 3], [3, 4, 5])
    ]
    return sample(
        itertools.product(shapes, FLOAT, [(1, 1), (1, 2), (2, 1), (2, 2), (3, 3)],
                          TRANSPOSE_PADDINGS, [None, (2, 2)]),
        k, seed,
    )


@pytest.mark.parametrize(
    "transpose_kernel,shapes,dtype,strides,padding,rhs_dil",
    [(True, *case) for case in _transpose_2d_cases(True, 6, 10)]
    + [(False, *case) for case in _transpose_2d_cases(False, 7, 10)],
)
def test_conv_transpose_2d(transpose_kernel, shapes, dtype, strides, padding, rhs_dil):
    lhs, rhs = rand(shapes[0], dtype), rand(shapes[1], dtype)
    check_against_lax("conv_transpose", (lhs, rhs, strides, padding), dict(
        rhs_dilation=rhs_dil, dimension_numbers=("NHWC", "HWIO", "NHWC"),
        transpose_kernel=transpose_kernel, use_consistent_padding=True))


@pytest.mark.parametrize(
    "shapes,dtype,strides,padding,rhs_dil",
    sample(itertools.product(
        [((b, 10, i), (k, i, j)) for b, i, j, k in itertools.product([2, 3], [2, 3], [2, 3], [3, 4, 5])],
        FLOAT, [(1,), (2,), (3,)], ["VALID", "SAME"], [None, (2,)]), 10, seed=8),
)
def test_conv_transpose_1d(shapes, dtype, strides, padding, rhs_dil):
    lhs, rhs = rand(shapes[0], dtype), rand(shapes[1], dtype)
    check_against_lax("conv_transpose", (lhs, rhs, strides, padding),
                      dict(dimension_numbers=("NHC", "HIO", "NHC"), rhs_dilation=rhs_dil))


@pytest.mark.parametrize(
    "shapes,dtype,padding,rhs_dil",
    sample(itertools.product(
        [((b, i), (i, j)) for b, i, j in itertools.product([2, 3], [2, 3], [2, 3])],
        FLOAT, ["VALID", "SAME"], [None, ()]), 6, seed=9),
)
def test_conv_transpose_0d(shapes, dtype, padding, rhs_dil):
    lhs, rhs = rand(shapes[0], dtype), rand(shapes[1], dtype)
    check_against_lax("conv_transpose", (lhs, rhs, (), padding),
                      dict(dimension_numbers=("NC", "IO", "NC"), rhs_dilation=rhs_dil))


def test_conv_transpose_explicit_padding_and_defaults():
    # pairs without use_consistent_padding are the core padding; the default layout is
    # channels last for any rank (lax has defaults up to 3 spatial dims)
    lhs, rhs = rand((2, 5, 6, 3), np.float32), rand((3, 2, 3, 4), np.float32)
    check_against_lax("conv_transpose", (lhs, rhs, (2, 3), ((1, 2), (0, 3))))
    # only 'SAME' and 'VALID' take the transposed rule; 'same' is the forward SAME
    check_against_lax("conv_transpose", (lhs, rhs, (1, 1), "same"))
    lhs4, rhs4 = rand((1, 3, 2, 3, 2, 2), np.float32), rand((2, 1, 2, 2, 2, 3), np.float32)
    y = jlax.conv_transpose(lhs4, rhs4, (2, 1, 1, 2), "VALID")
    want = jax.lax.conv_general_dilated(
        lhs4, rhs4, (1,) * 4, [(k - 1, k - 1 + max(s - k, 0)) for k, s in zip(rhs4.shape[:4], (2, 1, 1, 2))],
        (2, 1, 1, 2), None, ("NHWDEC", "HWDEIO", "NHWDEC"))
    assert_matches(y, want)


def test_conv_transpose_padding_list():
    a, b = jnp.ones((28, 28)), jnp.ones((3, 3))
    c = jlax.conv_general_dilated(a[None, None], b[None, None], (1, 1), [(0, 0), (0, 0)], (1, 1))
    np.testing.assert_allclose(c, 9 * np.ones((1, 1, 26, 26)))


# ---------------------------------------------------------------------------------------
# lax_autodiff_test.py: VJPs and JVPs against lax's, and check_grads on a few
# ---------------------------------------------------------------------------------------

GRAD_TOL = {np.dtype(jnp.bfloat16): 5e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}

CONV_GRAD = sample(
    [
        (lhs, rhs, strides, dtype, padding)
        for lhs, rhs, all_strides in itertools.chain(
            [((b, i, 3, 4), (j, i, 1, 2), [(1, 1), (1, 2), (2, 1)])
             for b, i, j in itertools.product([2, 3], repeat=3)],
            [((4, 2, 1), (3, 2, 1), [(1,)])])
        for strides in all_strides
        for dtype in GRAD
        for padding in ["VALID", "SAME"]
    ],
    8, seed=10,
)


@pytest.mark.parametrize("lhs_shape,rhs_shape,strides,dtype,padding", CONV_GRAD)
def test_conv_grad(lhs_shape, rhs_shape, strides, dtype, padding):
    lhs, rhs = rand(lhs_shape, dtype), rand(rhs_shape, dtype)
    check_derivatives_against_lax(
        "conv", lhs, rhs, dict(window_strides=strides, padding=padding,
                               precision=jax.lax.Precision.HIGHEST), GRAD_TOL[np.dtype(dtype)])


GENERAL_PADDING_GRAD = sample(
    [
        (lhs, rhs, strides, padding, lhs_dil, rhs_dil, dtype)
        for lhs, rhs, all_strides, all_pads, lhs_dils, rhs_dils in itertools.chain(
            [((b, i, 3, 4), (j, i, 1, 2), [(1, 1), (1, 2), (2, 1)],
              [((0, 0), (0, 0)), ((-1, 0), (0, -1)), ((1, 0), (0, 1))],
              [(1, 1), (2, 1)], [(1, 1)])
             for b, i, j in itertools.product([2, 3], repeat=3)],
            [((4, 2, 1), (3, 2, 1), [(1,)], [((1, 1),), ((0, 0),)], [(1,), (2,)], [(1,), (2,)])])
        for strides in all_strides
        for rhs_dil in rhs_dils
        for lhs_dil in lhs_dils
        for padding in all_pads
        for dtype in GRAD
    ],
    8, seed=11,
)


@pytest.mark.parametrize("lhs_shape,rhs_shape,strides,padding,lhs_dil,rhs_dil,dtype",
                         GENERAL_PADDING_GRAD)
def test_conv_with_general_padding_grad(lhs_shape, rhs_shape, strides, padding, lhs_dil,
                                        rhs_dil, dtype):
    lhs, rhs = rand(lhs_shape, dtype), rand(rhs_shape, dtype)
    check_derivatives_against_lax(
        "conv_with_general_padding", lhs, rhs,
        dict(window_strides=strides, padding=padding, lhs_dilation=lhs_dil,
             rhs_dilation=rhs_dil, precision=jax.lax.Precision.HIGHEST),
        GRAD_TOL[np.dtype(dtype)],
    )


GRAD_LAYOUTS = [
    (("NCHW", "OIHW", "NCHW"), ([0, 1, 2, 3], [0, 1, 2, 3])),
    (("NHWC", "HWIO", "NHWC"), ([0, 2, 3, 1], [2, 3, 1, 0])),
    (("NHWC", "OIHW", "NCHW"), ([0, 2, 3, 1], [0, 1, 2, 3])),
]

GENERAL_DILATED_GRAD = sample(
    [
        (lhs_shape, rhs_shape, strides, padding, lhs_dil, rhs_dil, fgc, bgc, layout, dtype)
        for bgc, fgc in GROUPINGS
        for lhs_shapes, rhs_shape, all_strides, lhs_dils, rhs_dils in [
            ([(b * bgc, i * fgc, 6, 7), (b * bgc, i * fgc, 0, 4)],
             (j * bgc * fgc, i, 1, 2), [(1, 1), (1, 2), (2, 1)], [(1, 1), (2, 1)], [(1, 1), (2, 2)])
            for b, i, j in itertools.product([1, 2], repeat=3)]
        for lhs_shape in lhs_shapes
        for strides in all_strides
        for rhs_dil in rhs_dils
        for lhs_dil in lhs_dils
        for padding in ([((0, 0), (0, 0)), ((1, 0), (0, 1))]
                        + ([((0, -1), (0, 0))] if lhs_shape[2] != 0 else []))
        for layout in GRAD_LAYOUTS
        for dtype in GRAD
    ],
    12, seed=12,
)


@pytest.mark.parametrize(
    "lhs_shape,rhs_shape,strides,padding,lhs_dil,rhs_dil,fgc,bgc,layout,dtype",
    GENERAL_DILATED_GRAD,
)
def test_conv_general_dilated_grad(lhs_shape, rhs_shape, strides, padding, lhs_dil, rhs_dil,
                                   fgc, bgc, layout, dtype):
    dn, (lhs_perm, rhs_perm) = layout
    lhs = rand(tuple(np.take(lhs_shape, lhs_perm)), dtype)
    rhs = rand(tuple(np.take(rhs_shape, rhs_perm)), dtype)
    check_derivatives_against_lax(
        "conv_general_dilated", lhs, rhs,
        dict(window_strides=strides, padding=padding, lhs_dilation=lhs_dil,
             rhs_dilation=rhs_dil, dimension_numbers=dn, feature_group_count=fgc,
             batch_group_count=bgc, precision=jax.lax.Precision.HIGHEST),
        GRAD_TOL[np.dtype(dtype)],
    )


def _check_grads_bilinear(f, lhs, rhs):
    """JAX's check for a bilinear op: one operand at a time, order 2, eps=1."""
    check_grads(lambda x: f(x, rhs), (lhs,), 2, modes=["fwd", "rev"], eps=1.0)
    check_grads(lambda w: f(lhs, w), (rhs,), 2, modes=["fwd", "rev"], eps=1.0)


@pytest.mark.parametrize("bgc,fgc,lhs_dil", [(2, 1, (2, 1)), (1, 2, (1, 1))])
def test_check_grads_order_2(bgc, fgc, lhs_dil):
    lhs = rand((2 * bgc, 2 * fgc, 5, 4), np.float64)
    rhs = rand((2 * bgc * fgc, 2, 2, 2), np.float64)

    def f(x, w):
        return jlax.conv_general_dilated(
            x, w, (1, 2), ((1, 0), (0, 1)), lhs_dil, (1, 2),
            ("NCHW", "OIHW", "NCHW"), feature_group_count=fgc, batch_group_count=bgc)

    _check_grads_bilinear(f, lhs, rhs)


# ---------------------------------------------------------------------------------------
# Drop-in properties: signatures, the computation path, transformations, errors, Flax
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", jlax.__all__)
def test_signature_is_lax(name):
    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert params(getattr(jlax, name)) == params(getattr(jax.lax, name))


def test_computes_with_jconv_not_with_lax():
    x, w = rand((2, 4, 7, 6), np.float32), rand((3, 3, 2, 6), np.float32)

    def f(x, w):
        return jlax.conv_general_dilated(x, w, (2, 1), "SAME", (1, 1), (1, 2),
                                         ("NCHW", "HWIO", "NCHW"), feature_group_count=2)

    for jaxpr in (jax.make_jaxpr(f)(x, w),
                  jax.make_jaxpr(jax.grad(lambda x, w: f(x, w).sum(), (0, 1)))(x, w)):
        text = str(jaxpr)
        assert "jconv_conv[" in text and "conv_general_dilated[" not in text


def test_vmap_per_example_kernels():
    x, w = rand((3, 2, 4, 9), np.float32), rand((3, 6, 2, 3), np.float32)

    def one(f):
        return jax.vmap(lambda x, w: f(x, w, (2,), "SAME", None, (2,), feature_group_count=2))

    assert_matches(jax.jit(one(jlax.conv_general_dilated))(x, w),
                   jax.jit(one(jax.lax.conv_general_dilated))(x, w))


def test_out_sharding():
    from jax.sharding import AxisType
    from jax.sharding import PartitionSpec as P

    mesh = jax.make_mesh((1,), ("b",), axis_types=(AxisType.Explicit,))
    x, w = rand((2, 3, 8), np.float32), rand((4, 3, 3), np.float32)
    with jax.set_mesh(mesh):
        results = [
            jax.jit(lambda x, w, f=f: f(x, w, (1,), "SAME", out_sharding=P("b")))(x, w)
            for f in (jlax.conv_general_dilated, jax.lax.conv_general_dilated)
        ]
    assert_matches(*results)
    assert results[0].sharding.spec == results[1].sharding.spec


def raises(exc, msg):
    return pytest.raises(exc, match=re.escape(msg))


def ones(shape):
    return jnp.ones(shape, jnp.float32)


x4, w4 = ones((2, 6, 8, 8)), ones((4, 3, 3, 3))


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), "SAME", feature_group_count=4),
         ValueError,
         "jconv.lax.conv_general_dilated: lhs has 6 features, which feature_group_count=4 "
         "does not divide"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), "SAME"), ValueError,
         "jconv.lax.conv_general_dilated: rhs has 3 input features but lhs has 6 features and "
         "feature_group_count=1, so it must be 6"),
        (lambda: jlax.conv_general_dilated(x4, ones((4, 6, 3, 3)), (1, 1), "SAME",
                                           batch_group_count=3), ValueError,
         "jconv.lax.conv_general_dilated: lhs has batch size 2, which batch_group_count=3 "
         "does not divide"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), "SAME", feature_group_count=2,
                                           batch_group_count=2), ValueError,
         "jconv.lax.conv_general_dilated: feature_group_count=2 and batch_group_count=2; at "
         "most one of them may be > 1"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), "SAME", (2, 2),
                                           feature_group_count=2), ValueError,
         "jconv.lax.conv_general_dilated: padding='SAME' with lhs_dilation=(2, 2) is not "
         "supported"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), "FULL", feature_group_count=2),
         ValueError,
         "jconv.lax.conv_general_dilated: padding must be 'SAME', 'SAME_LOWER', 'VALID' or "
         "(low, high) pairs, got 'FULL'"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), [(1, 1)], feature_group_count=2),
         ValueError,
         "jconv.lax.conv_general_dilated: padding must be 'SAME', 'SAME_LOWER', 'VALID' or 2 "
         "(low, high) pairs (one per spatial dim), got [(1, 1)]"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 0), "SAME", feature_group_count=2),
         ValueError, "jconv.lax.conv_general_dilated: window_strides must be >= 1, got (1, 0)"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), [(-9, 0), (0, 0)],
                                           feature_group_count=2), ValueError,
         "jconv.lax.conv_general_dilated: padding (-9, 0) leaves a negative input size -1 in "
         "spatial dim 0"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), "SAME", feature_group_count=2,
                                           dimension_numbers=("NCHW", "OIHW", "NCHX")),
         ValueError,
         "jconv.lax.conv_general_dilated: dimension_numbers ('NCHW', 'OIHW', 'NCHX') must "
         "name the same spatial axes in lhs, rhs and output"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), "SAME", feature_group_count=2,
                                           dimension_numbers=("NCHW", "OIHW", "NCH")),
         ValueError,
         "jconv.lax.conv_general_dilated: dimension_numbers[2] is 'NCH' of length 3; it must "
         "have one character per axis of lhs and rhs (rank 4)"),
        (lambda: jlax.conv_general_dilated(x4, w4, (1, 1), "SAME", feature_group_count=2,
                                           dimension_numbers="NCHW"), TypeError,
         "jconv.lax.conv_general_dilated: dimension_numbers must be None, a "
         "ConvDimensionNumbers or three strings"),
        (lambda: jlax.conv(x4, w4.astype(jnp.float16), (1, 1), "SAME"), TypeError,
         "jconv.lax.conv: lhs has dtype float32 and rhs float16; they must be equal"),
        (lambda: jlax.conv(x4, ones((4, 6, 3)), (1, 1), "SAME"), ValueError,
         "jconv.lax.conv: lhs has shape (2, 6, 8, 8) and rhs (4, 6, 3); they must have the "
         "same rank"),
        (lambda: jlax.conv(x4, w4, (1, 1), "SAME", preferred_element_type=jnp.float16),
         TypeError,
         "jconv.lax.conv: preferred_element_type float16 is narrower than the operands' "
         "float32"),
        (lambda: jlax.conv(x4, w4, (1, 1), "SAME", preferred_element_type=jnp.int32),
         TypeError,
         "jconv.lax.conv: preferred_element_type int32 does not suit float32 operands"),
        (lambda: jlax.conv(x4, ones((4, 6, 3, 3)), (1, 1), "SAME", precision="best"),
         ValueError, "jconv.lax.conv: precision must be None, a jax.lax.Precision"),
        (lambda: jlax.conv_with_general_padding(x4, w4, (1, 1), "SAME", (1, 1), (0, 1)),
         ValueError, "jconv.lax.conv_with_general_padding: rhs_dilation must be >= 1"),
        (lambda: jlax.conv_transpose(ones((1, 5, 5, 4)), ones((3, 3, 4, 2)), (2, 2),
                                     "same"), ValueError,
         "jconv.lax.conv_transpose: padding='same' is not supported with strides=(2, 2); the "
         "strings are 'SAME' and 'VALID', in upper case"),
        (lambda: jlax.conv_transpose(ones((1, 5, 5, 4)), ones((3, 3, 4, 2)), (2, 0),
                                     "SAME"), ValueError,
         "jconv.lax.conv_transpose: strides must be >= 1, got (2, 0)"),
    ],
)
def test_errors_name_function_argument_rule_and_values(call, exc, msg):
    with raises(exc, msg):
        call()


def test_public_in_jconv():
    assert jconv.lax is jlax
    for name in jlax.__all__:
        doc = getattr(jlax, name).__doc__
        assert doc and "Example" in doc and ">>>" in doc and f"jax.lax.{name}" in doc, name


FLAX_CONV = dict(kernel_size=(3, 2), strides=(2, 1), padding="SAME", kernel_dilation=(1, 2),
                 feature_group_count=2)


def test_flax_linen_conv_runs_on_jconv():
    nn = pytest.importorskip("flax.linen")
    x = rand((2, 9, 8, 4), np.float32)
    ours = nn.Conv(6, **FLAX_CONV, conv_general_dilated=jlax.conv_general_dilated)
    theirs = nn.Conv(6, **FLAX_CONV)
    params = theirs.init(jax.random.key(0), x)
    assert_matches(ours.apply(params, x), theirs.apply(params, x))
    grads = [jax.grad(lambda p, m=m: (m.apply(p, x) ** 2).sum())(params) for m in (ours, theirs)]
    _close(grads[0], grads[1], 1e-4)


def test_flax_nnx_conv_runs_on_jconv():
    nnx = pytest.importorskip("flax.nnx")
    x = rand((2, 9, 8, 4), np.float32)
    ours = nnx.Conv(4, 6, **FLAX_CONV, conv_general_dilated=jlax.conv_general_dilated,
                    rngs=nnx.Rngs(0))
    theirs = nnx.Conv(4, 6, **FLAX_CONV, rngs=nnx.Rngs(0))
    assert_matches(ours(x), theirs(x))
    grads = [nnx.grad(lambda m: (m(x) ** 2).sum())(m) for m in (ours, theirs)]
    _close(grads[0], grads[1], 1e-4)
