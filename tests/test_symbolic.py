"""jconv.symbolic: the reference semantics against the NumPy direct sums, the matrix
forms, the pictures, errors and results. The laws themselves (every ``prove_*`` and
``laws.check_*``) run in the proof scripts, which test_proofs.py runs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import sympy
from hypothesis import given
from hypothesis import strategies as st
from reference import conv_ref, conv_transpose_ref, convolve_ref

from jconv import symbolic as S

# Internal to the package, tested directly: the matrices `check_operator` compares
# conv_transpose and convolve with, and the reference's own output-shape rule.
from jconv.symbolic._matrix import conv_transpose_matrix, convolve_matrix
from jconv.symbolic._reference import conv_output_shape


def ints(a) -> np.ndarray:
    """A SymPy array of integers as an int64 NumPy array."""
    return np.array(a.tolist(), dtype=object).astype(np.int64).reshape(a.shape)


def rand(rng, shape):
    return rng.integers(-5, 6, shape)


# -- reference semantics vs the NumPy direct sums ---------------------------------------


@st.composite
def conv_configs(draw):
    nd = draw(st.integers(1, 2))
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    pads = tuple((draw(st.integers(-1, 2)), draw(st.integers(-1, 2))) for _ in range(nd))
    lows = [max(1, dd * (kk - 1) + 1 - lo - hi) for kk, dd, (lo, hi) in zip(k, d, pads)]
    n = tuple(draw(st.integers(low, low + 4)) for low in lows)
    batch = draw(st.integers(1, 2))
    return (batch, groups * cg, *n), (groups * og, cg, *k), dict(
        stride=s, padding=pads, dilation=d, groups=groups)


@given(conv_configs(), st.integers(0, 2**16))
def test_conv_matches_direct_sum(config, seed):
    x_shape, w_shape, kw = config
    rng = np.random.default_rng(seed)
    x, w, b = rand(rng, x_shape), rand(rng, w_shape), rand(rng, (w_shape[0],))
    y = S.conv(x, w, b, **kw)
    expected = conv_ref(x, w, b, stride=kw["stride"], pads=kw["padding"],
                        dilation=kw["dilation"], groups=kw["groups"])
    np.testing.assert_array_equal(ints(y), expected)


@pytest.mark.parametrize("mode, numpy_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                              ("circular", "wrap")])
def test_conv_padding_modes(mode, numpy_mode):
    rng = np.random.default_rng(0)
    x, w = rand(rng, (2, 2, 5, 4)), rand(rng, (4, 1, 3, 2))
    pads = ((2, 1), (1, 0))
    y = S.conv(x, w, padding=pads, groups=2, padding_mode=mode)
    xp = np.pad(x, ((0, 0), (0, 0), *pads), mode=numpy_mode)
    np.testing.assert_array_equal(ints(y), conv_ref(xp, w, groups=2))


def test_conv_channels_last_and_same_padding():
    rng = np.random.default_rng(1)
    x, w = rand(rng, (1, 3, 7, 5)), rand(rng, (4, 3, 3, 2))
    y = S.conv(np.moveaxis(x, 1, -1), np.transpose(w, (2, 3, 1, 0)), stride=2, padding="same",
               channels_last=True)
    # SAME, stride 2: out = ceil(n / 2); total padding (ceil(n/s) - 1) s + k - n, odd at the end
    expected = conv_ref(x, w, stride=2, pads=((1, 1), (0, 1)))
    np.testing.assert_array_equal(ints(y), np.moveaxis(expected, 1, -1))


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2**16))
def test_conv_transpose_matches_scatter(groups, stride, dilation, seed):
    rng = np.random.default_rng(seed)
    x, w = rand(rng, (2, 2 * groups, 3, 2)), rand(rng, (2 * groups, 2, 3, 2))
    pads = ((1, 0), (0, 1))
    op = (stride - 1, 0)
    y = S.conv_transpose(x, w, stride=(stride, 1), padding=pads, output_padding=op,
                         dilation=(dilation, 1), groups=groups)
    expected = conv_transpose_ref(x, w, stride=(stride, 1), pads=pads, output_padding=op,
                                  dilation=(dilation, 1), groups=groups)
    np.testing.assert_array_equal(ints(y), expected)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", [((7,), (3,)), ((3,), (6,)), ((4, 5), (2, 3))])
def test_convolve_correlate_match_scipy(mode, shapes):
    rng = np.random.default_rng(2)
    a, b = rand(rng, shapes[0]), rand(rng, shapes[1])
    if mode == "valid" and not (all(m >= k for m, k in zip(a.shape, b.shape))
                                or all(k >= m for m, k in zip(a.shape, b.shape))):
        pytest.skip("valid needs one operand at least as large")
    np.testing.assert_array_equal(ints(S.convolve(a, b, mode)),
                                  scipy.signal.convolve(a, b, mode, method="direct"))
    np.testing.assert_array_equal(ints(S.correlate(a, b, mode)),
                                  scipy.signal.correlate(a, b, mode, method="direct"))
    if mode == "full":
        np.testing.assert_array_equal(ints(S.convolve(a, b)), convolve_ref(a, b))


def test_circular_modes_and_axes():
    rng = np.random.default_rng(3)
    a, b = rand(rng, (3, 6)), rand(rng, (1, 8))
    n, m = 6, 8
    conv = np.array([[sum(a[r, (k - j) % n] * b[0, j] for j in range(m)) for k in range(n)]
                     for r in range(3)])
    corr = np.array([[sum(a[r, (k + j) % n] * b[0, j] for j in range(m)) for k in range(n)]
                     for r in range(3)])
    np.testing.assert_array_equal(ints(S.convolve(a, b, "circular", axes=1)), conv)
    np.testing.assert_array_equal(ints(S.correlate(a, b, "circular", axes=-1)), corr)


def test_correlate_conjugates_complex_symbols():
    a = S.symbols("a", (2,), complex=True)
    b = S.symbols("b", (1,), complex=True)
    assert S.correlate(a, b)[0] == a[0] * sympy.conjugate(b[0])


def test_symbols_names_and_inputs():
    x = S.symbols("x", (2, 3))
    assert x.shape == (2, 3) and str(x[1, 2]) == "x_1_2" and x[0, 0].is_real
    assert len({e for row in x.tolist() for e in row}) == 6
    assert S.symbols("s", ()).shape == ()
    y = S.conv([[[1, 2, 3]]], sympy.Array([[[x[0, 0], x[0, 1]]]]))
    assert y.shape == (1, 1, 2)
    with pytest.raises(TypeError, match="jconv.symbolic.symbols: shape"):
        S.symbols("x", 3)
    with pytest.raises(ValueError, match="non-negative"):
        S.symbols("x", (2, -1))


def test_errors_use_the_spec_rules():
    x, w = S.symbols("x", (1, 6, 5)), S.symbols("w", (4, 3, 3))
    with pytest.raises(ValueError, match="jconv.symbolic.conv: x has 6 input channels, which "
                                         "groups=4 does not divide"):
        S.conv(x, w, groups=4)
    with pytest.raises(ValueError, match="jconv.symbolic.conv_matrix: padding_mode must be"):
        S.conv_matrix(S.symbols("w", (1, 1, 3)), (1, 5), padding_mode="mirror")
    with pytest.raises(ValueError, match="jconv.symbolic.convolve: mode must be"):
        S.convolve([1, 2], [1], "middle")
    with pytest.raises(ValueError, match="kernel_matrix: x has rank 1"):
        S.kernel_matrix([1, 2, 3], (1, 1, 2))
    with pytest.raises(ValueError, match="not a regular"):
        S.conv([[[1, 2], [3]]], [[[1]]])


# -- matrix forms ---------------------------------------------------------------------


def test_worked_example_matrix_and_rendering():
    a, b, c, d, e, f, g, h = sympy.symbols("a:h")
    M = S.conv_matrix([[[[a, b], [c, d]]], [[[e, f], [g, h]]]], (1, 3, 3))
    assert M.shape == (8, 9)
    assert list(M.row(0)) == [a, b, 0, c, d, 0, 0, 0, 0]
    assert list(M.row(7)) == [0, 0, 0, 0, e, f, 0, g, h]
    y = M * sympy.Matrix(range(1, 10))
    assert sympy.expand(y[0] - (a + 2 * b + 4 * c + 5 * d)) == 0
    assert sympy.expand(y[5] - (2 * e + 3 * f + 5 * g + 6 * h)) == 0
    text = S.render_pattern(M, row_blocks=[4, 4], col_blocks=[3, 3, 3], entries=True)
    assert text.splitlines()[0] == "a b 0 | c d 0 | 0 0 0"
    assert text.splitlines()[4] == "------+-------+------"
    assert S.laws.check_worked_example().holds


@pytest.mark.parametrize("kw", [
    dict(stride=2, padding=1, groups=2),
    dict(padding="same", dilation=2, padding_mode="reflect"),
    dict(padding=1, padding_mode="circular", channels_last=True),
])
def test_conv_and_kernel_matrices_reproduce_conv(kw):
    rng = np.random.default_rng(4)
    cl = kw.get("channels_last", False)
    x_shape = (2, 5, 4, 2) if cl else (2, 2, 5, 4)
    w_shape = (3, 3, 1 if kw.get("groups") else 2, 2) if cl else (2, 1 if kw.get("groups") else 2, 3, 3)
    x, w = rand(rng, x_shape), rand(rng, w_shape)
    y = ints(S.conv(x, w, **kw))
    M = np.array(S.conv_matrix(w, x_shape[1:], **kw).tolist(), dtype=np.int64)
    np.testing.assert_array_equal(M @ x[0].reshape(-1), y[0].reshape(-1))
    A = np.array(S.kernel_matrix(x, w_shape, **kw).tolist(), dtype=np.int64)
    np.testing.assert_array_equal(A @ w.reshape(-1), y.reshape(-1))


def test_conv_transpose_matrix_is_the_transpose():
    W = S.symbols("w", (4, 1, 3))
    M = S.conv_matrix(W, (2, 7), stride=2, padding=1, groups=2)
    T = conv_transpose_matrix(W, (4, 4), stride=2, padding=1, output_padding=0, groups=2)
    assert T.shape == M.T.shape and (T - M.T).applyfunc(sympy.expand).is_zero_matrix


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_matrix_matches_scipy(mode):
    b = np.array([1, -2, 3])
    T = np.array(convolve_matrix(b, (5,), mode).tolist(), dtype=np.int64)
    np.testing.assert_array_equal(T, scipy.linalg.convolution_matrix(b, 5, mode))


def test_circulant_shift_and_dft():
    c = [1, 2, 3, 4]
    np.testing.assert_array_equal(np.array(S.circulant(c).tolist(), dtype=np.int64),
                                  scipy.linalg.circulant(c))
    P = np.array(S.circulant([0, 1, 0, 0]).tolist(), dtype=np.int64)
    np.testing.assert_array_equal(P @ np.arange(4), np.roll(np.arange(4), 1))
    F = np.array(S.dft_matrix(6).evalf().tolist(), dtype=complex)
    np.testing.assert_allclose(F, np.fft.fft(np.eye(6), axis=0), atol=1e-12)
    Fi = np.array(S.dft_matrix(6, inverse=True).evalf().tolist(), dtype=complex)
    np.testing.assert_allclose(F @ Fi, np.eye(6), atol=1e-12)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        S.circulant([])


def test_block_structure_of_grouped_kernel():
    W = S.symbols("w", (4, 1, 3))
    B = S.conv_block_matrix(W, (2, 5), groups=2, padding=1)
    assert B.blockshape == (4, 2)
    assert isinstance(B.blocks[0, 1], sympy.ZeroMatrix)
    M = S.conv_matrix(W, (2, 5), groups=2, padding=1)
    assert (sympy.Matrix(B.as_explicit()) - M).applyfunc(sympy.expand).is_zero_matrix
    D = S.group_block_matrix(W, (2, 5), groups=2, padding=1)
    assert D.blockshape == (2, 2)
    text = S.render_pattern(B)
    rows = text.splitlines()
    assert rows[0] == "##...|....." and "-----+-----" in rows
    with pytest.raises(ValueError, match="channels_last=True is not supported"):
        S.conv_block_matrix(S.symbols("w", (3, 1, 2)), (5, 2), channels_last=True)


def test_render_pattern_tiles_wide_matrices():
    M = S.conv_matrix(S.symbols("w", (1, 1, 3)), (1, 300))
    lines = S.render_pattern(M, max_width=60).splitlines()
    assert max(len(line) for line in lines) <= 60 and lines[0].startswith("#")


def test_plot_pattern_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    W = S.symbols("w", (4, 1, 3, 3))
    path = tmp_path / "groups.png"
    fig = S.plot_pattern(S.conv_block_matrix(W, (4, 4, 4), groups=4, padding=1), path,
                         title="depthwise", color_by="symbol")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.axes[0].get_title() == "depthwise"
    with pytest.raises(ValueError, match="color_by"):
        S.plot_pattern(sympy.eye(2), color_by="rainbow")


def test_conv_output_shape():
    assert conv_output_shape((2, 3, 9, 9), (4, 3, 3, 3), stride=2, padding="same") == (
        2, 4, 5, 5)
    assert conv_output_shape((1, 9, 9, 3), (3, 3, 3, 4), channels_last=True) == (1, 7, 7, 4)


# -- the checks themselves --------------------------------------------------------------


def test_check_result_and_combine():
    a = S.CheckResult("a", "A", True, S.CheckResult.ALL_SIZES, "ok", 0.5)
    b = S.CheckResult("b", "B", None, S.CheckResult.verified_for("n = 2"), "skipped: no", 0.1)
    c = S.CheckResult("c", "C", False, S.CheckResult.verified_for("n = 3"), "broken", 0.2)
    assert bool(a) and not bool(b) and not bool(c)
    assert S.CheckResult.combine("ab", "A, B", [a, b]).holds is True
    both = S.CheckResult.combine("ac", "A, C", [a, c])
    assert both.holds is False and "c: FAILS (broken)" in both.details
    assert S.CheckResult.combine("b", "B", [b]).holds is None
    assert a.to_dict()["scope"] == S.CheckResult.ALL_SIZES and "**a**" in a.to_markdown()


# -- documentation ----------------------------------------------------------------------


def test_docstring_examples_run():
    import doctest
    import importlib
    import pkgutil

    failed = attempted = 0
    for info in pkgutil.iter_modules(S.__path__):
        module = importlib.import_module(f"jconv.symbolic.{info.name}")
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        failed, attempted = failed + result.failed, attempted + result.attempted
    result = doctest.testmod(S, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed + result.failed == 0 and attempted > 50


def test_every_public_name_is_documented():
    import pathlib

    text = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "symbolic.md").read_text()
    for name in S.__all__:
        assert f"`{name}`" in text, f"{name} is missing from docs/symbolic.md"
        obj = getattr(S, name)
        if callable(obj):
            doc = obj.__doc__ or ""
            assert "Example" in doc and len(doc.strip().splitlines()) > 3, name


def test_channels_last_conv_transpose_against_numeric():
    result = S.check_operator("conv_transpose", (1, 4, 3, 2), (2, 3, 3, 2), stride=2,
                              padding=1, output_padding=1, channels_last=True, algorithm="xla")
    assert result.holds is True, result
