"""The ``winograd`` algorithm, forced, against the NumPy direct sums of reference.py.

What is specific to Winograd (every pass on the shared cases is in test_conformance.py):
tile choice and kernel chunking, channels_last, the float32 and float64 accuracy of the
tiles, the refusals, cache-blocking chunks, and the exact Cook-Toom tables.
"""

import math
import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from reference import close, conv_ref, conv_transpose_ref

import jconv
from jconv import _select
from jconv._algorithms import winograd
from jconv._spec import ConvSpec

ALG = "winograd"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_plans():
    """Forget cached tile plans, chunkings and jconv's compiled functions before and after
    the test, so that it plans under its own settings and leaves nothing planned under
    them for later tests."""

    def clear():
        winograd._plan.cache_clear()
        winograd._chunking.cache_clear()
        _select.clear_plans()

    clear()
    yield
    clear()


def run_traced(x, w, spec):
    """``winograd.run`` compiled afresh (a new function: no trace cached under other
    settings is reused)."""
    return jax.jit(lambda a, b: winograd.run(a, b, spec))(jnp.asarray(x), jnp.asarray(w))


def explained_tiles(x_shape, w_shape, role="forward", **kw) -> list[tuple[int, int]]:
    """The ``(m, r)`` of every dim's tile ``F(m, r)``, as `jconv.explain` reports them
    (``"F(3,3) x F(3,3)"``)."""
    plan = jconv.explain(x_shape, w_shape, algorithm=ALG, **kw)[role]
    detail = next(c.detail for c in plan.candidates if c.name == ALG)
    return [(int(m), int(r)) for m, r in re.findall(r"F\((\d+),(\d+)\)", detail)]


def test_kernel_grad_uses_kernel_chunks():
    """The kernel-gradient spec (small output, large "kernel") is cut into kernel chunks."""
    assert all(m + r - 1 <= winograd.MAX_ALPHA_2D
               for m, r in explained_tiles((4, 8, 30, 30), (8, 8, 3, 3), "kernel_grad", padding=1))
    # private: explain names the tiles, not how many kernel chunks each dim has
    fwd = ConvSpec(4, 1, 8, 8, (30, 30), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), (1, 1))
    dims = winograd._plan(fwd.kernel_grad())
    assert all(d.C > 1 and d.T == 1 for d in dims), dims
    (m32, r32), = explained_tiles((4, 8, 64), (8, 8, 3), "kernel_grad", padding=1)
    (m64, r64), = explained_tiles((4, 8, 64), (8, 8, 3), "kernel_grad", padding=1, dtype="float64")
    assert m32 + r32 - 1 <= winograd.MAX_ALPHA_1D_KERNEL_GRAD_32
    assert m64 + r64 - 1 > winograd.MAX_ALPHA_32  # larger tiles in float64


@pytest.mark.parametrize("x_shape, w_shape", [
    ((2, 8, 12, 12, 12), (8, 8, 3, 3, 3)),  # 432 terms: four blocks of 108
    ((5, 4, 201), (6, 4, 3)),  # 505 terms: four blocks of 127, zero-padded to 508
])
def test_kernel_gradient_contracts_in_blocks(x_shape, w_shape, fresh_plans):
    """A kernel gradient's long contraction is summed in blocks (`winograd.CHAIN`), and
    matches a float64 direct sum, ``dw[o, c, t] = sum_{n, p} dy[n, o, p] x_pad[n, c, p + t]``."""
    nd = len(w_shape) - 2
    spec = jconv.explain(x_shape, w_shape, padding=1)["kernel_grad"].spec
    terms = math.prod(d.C for d in winograd._plan(spec)) * spec.in_channels
    assert winograd._blocks(spec, terms) == 4, terms
    rng = np.random.default_rng(5)
    x = rng.standard_normal(x_shape).astype(np.float32)
    dy = rng.standard_normal((x_shape[0], w_shape[0], *x_shape[2:])).astype(np.float32)
    dw = jconv.conv_kernel_grad(x, dy, w_shape, padding=1, algorithm=ALG)
    xp = np.pad(x.astype(np.float64), [(0, 0)] * 2 + [(1, 1)] * nd)
    windows = np.lib.stride_tricks.sliding_window_view(xp, x_shape[2:], axis=tuple(range(2, 2 + nd)))
    axes = "xyz"[:nd]
    expected = np.einsum(f"nc{axes.upper()}{axes},no{axes}->oc{axes.upper()}", windows,
                         dy.astype(np.float64))
    assert dw.dtype == np.float32
    close(dw, expected, rtol=2e-6)


def test_channels_last():
    r = np.random.default_rng(11)
    x, w = r.standard_normal((2, 9, 10, 4)), r.standard_normal((3, 3, 4, 5))  # NHWC, HWIO
    y = jconv.conv(x, w, padding="same", channels_last=True, algorithm=ALG)
    close(y, conv_ref(x, w, None, 1, ((1, 1), (1, 1)), 1, 1, channels_last=True))


def test_conv_transpose_stride_one():
    r = np.random.default_rng(12)
    x, w = r.standard_normal((2, 4, 6, 5)), r.standard_normal((4, 3, 3, 3))
    y = jconv.conv_transpose(x, w, padding=1, algorithm=ALG)
    close(y, conv_transpose_ref(x, w, None, 1, ((1, 1), (1, 1))))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve(mode):
    r = np.random.default_rng(13)
    a, b = r.standard_normal((40, 9)), r.standard_normal((5, 3))
    close(jconv.convolve(a, b, mode, method=ALG),
          scipy.signal.convolve(a, b, mode, method="direct"))


def test_complex():
    r = np.random.default_rng(14)
    x = r.standard_normal((1, 2, 12)) + 1j * r.standard_normal((1, 2, 12))
    w = r.standard_normal((3, 2, 3)) + 1j * r.standard_normal((3, 2, 3))
    close(jconv.conv(x, w, padding=1, algorithm=ALG), conv_ref(x, w, None, 1, ((1, 1),)))


def test_vmap_and_jvp_with_forced_winograd():
    r = np.random.default_rng(18)
    x, w = r.standard_normal((3, 2, 4, 11, 9)), r.standard_normal((3, 5, 4, 3, 3))
    f = lambda x, w: jconv.conv(x, w, padding=1, algorithm=ALG)  # noqa: E731
    got = jax.vmap(f)(x, w)
    for i in range(3):
        close(got[i], conv_ref(x[i], w[i], None, 1, 1))
    tx, tw = r.standard_normal(x[0].shape), r.standard_normal(w[0].shape)
    _, ty = jax.jvp(f, (x[0], w[0]), (tx, tw))
    close(ty, conv_ref(tx, w[0], None, 1, 1) + conv_ref(x[0], tw, None, 1, 1))


# -- accuracy ------------------------------------------------------------------------------


@pytest.mark.parametrize("m, bound", [(2, 2e-6), (4, 1e-5)])
def test_float32_accuracy(m, bound, monkeypatch, fresh_plans):
    """Relative Frobenius error of F(m, 3) in float32, 2-D, 32 channels (documented)."""
    r = np.random.default_rng(15)
    x = r.standard_normal((2, 32, 24, 24)).astype(np.float32)
    w = r.standard_normal((32, 32, 3, 3)).astype(np.float32)
    expected = conv_ref(x.astype(np.float64), w.astype(np.float64), None, 1, 1)
    monkeypatch.setattr(winograd, "MAX_ALPHA_2D", m + 2)
    spec = jconv.explain(x.shape, w.shape, padding=1, algorithm=ALG)["forward"].spec
    assert explained_tiles(x.shape, w.shape, padding=1) == [(m, 3), (m, 3)]
    # private: the tiles every chunk actually traces (explain reports the plan, not the run)
    traced = []
    tiles = winograd._tiles

    def spy(x, w, spec, dims, precision):
        traced.append(dims)
        return tiles(x, w, spec, dims, precision)

    monkeypatch.setattr(winograd, "_tiles", spy)
    y = run_traced(x.reshape(spec.x_shape), w.reshape(spec.w_shape), spec)
    assert traced and all({d.m for d in dims} == {m} for dims in traced), traced
    rel = np.linalg.norm(np.asarray(y, np.float64).reshape(expected.shape) - expected)
    rel /= np.linalg.norm(expected)
    assert rel < bound, rel
    assert rel > 1e-9  # genuinely float32 (the test would pass vacuously in float64)


def test_float64_accuracy_of_every_tile():
    """Every table entry a float64 plan may use (alpha <= MAX_ALPHA_64), forced as the
    tiles of a 1-D convolution, stays within 1e-12 of the direct sum in float64."""
    entries = sorted(e for e in winograd.ENTRIES if e[0] + e[1] - 1 <= winograd.MAX_ALPHA_64)
    assert {m + r - 1 for m, r in entries} == set(range(1, winograd.MAX_ALPHA_64 + 1))
    rng = np.random.default_rng(16)
    for m, r in entries:
        x, w = rng.standard_normal((1, 4, 30)), rng.standard_normal((3, 4, r))
        spec = ConvSpec(1, 1, 4, 3, (30,), (r,), (1,), ((0, 0),), (1,), (1,), False, "float64")
        # private: a tile the planner would not choose here, forced
        dims = (winograd._Dim((m, r, -(-spec.out_size[0] // m), 1)),)
        y = jax.jit(lambda a, b, spec=spec, dims=dims: winograd._tiles(a, b, spec, dims, None))(
            jnp.asarray(x.reshape(spec.x_shape)), jnp.asarray(w.reshape(spec.w_shape)))
        close(np.asarray(y).reshape(1, 3, -1), conv_ref(x, w), rtol=1e-12)


# -- refusals -------------------------------------------------------------------------------


def test_refuses_stride_and_dilation():
    x, w = jnp.ones((1, 2, 9, 9)), jnp.ones((2, 2, 3, 3))
    with pytest.raises(
        jconv.AlgorithmRefused,
        match=r"jconv\.conv: algorithm='winograd' cannot compute the forward pass: minimal "
        r"filtering needs unit stride and no dilation; got stride \(2, 2\)",
    ):
        jconv.conv(x, w, stride=2, algorithm=ALG)
    with pytest.raises(jconv.AlgorithmRefused, match=r"got kernel dilation \(1, 2\)"):
        jconv.conv(x, w, dilation=(1, 2), algorithm=ALG)
    with pytest.raises(jconv.AlgorithmRefused, match=r"input dilation \(2, 2\)"):  # conv_transpose stride 2
        jconv.conv_transpose(x, w, stride=2, algorithm=ALG)


def test_refuses_large_kernels():
    x, w = jnp.ones((1, 2, 40, 40), jnp.float32), jnp.ones((2, 2, 9, 3), jnp.float32)
    with pytest.raises(
        jconv.AlgorithmRefused,
        match=r"algorithm='winograd' cannot compute the forward pass: in spatial dim 0 both "
        r"the kernel \(9 taps\) and the output \(32\) are longer than a tile \(alpha <= 5 "
        r"for a 2-D float32 pass\) covers",
    ):
        jconv.conv(x, w, algorithm=ALG)
    # float64 tiles reach alpha 8: a 7-tap kernel fits
    y = jconv.conv(jnp.ones((1, 1, 20), jnp.float64), jnp.ones((1, 1, 7), jnp.float64),
                   algorithm=ALG)
    np.testing.assert_allclose(np.asarray(y), 7.0)


def test_refuses_when_nothing_is_saved():
    """A one-tap kernel (or the one-sample output of its kernel gradient) has nothing to
    save: F(m, 1) and F(1, r) take as many products as the direct sum."""
    x, w = jnp.ones((2, 4, 8, 8)), jnp.ones((3, 4, 1, 1))
    with pytest.raises(
        jconv.AlgorithmRefused,
        match=r"algorithm='winograd' cannot compute the forward pass: minimal filtering "
        r"saves no multiplications here \(kernel \(1, 1\), output \(8, 8\)\)",
    ):
        jconv.conv(x, w, algorithm=ALG)
    with pytest.raises(jconv.AlgorithmRefused, match=r"cannot compute the kernel grad pass: minimal filtering"):
        jconv.conv_kernel_grad(x, jnp.ones((2, 3, 8, 8)), w.shape, algorithm=ALG)
    # a 3x1 kernel still saves along its long dim
    y = jconv.conv(x, jnp.ones((3, 4, 3, 1)), algorithm=ALG)
    np.testing.assert_allclose(np.asarray(y), 12.0, rtol=1e-6)


def test_refuses_integers():
    x, w = jnp.ones((1, 2, 9), jnp.int32), jnp.ones((2, 2, 3), jnp.int32)
    with pytest.raises(
        jconv.AlgorithmRefused,
        match=r"algorithm='winograd' cannot compute the forward pass: integer convolution "
        r"must be exact; Winograd's transforms have fractional entries \(dtype int32\)",
    ):
        jconv.conv(x, w, algorithm=ALG)


# -- the Cook-Toom tables ------------------------------------------------------------------


def test_tables_prove_and_round_once():
    from jconv.symbolic import winograd as W

    assert W.check_table(5)


def test_lavin_gray_f23():
    """F(2, 3) matches the published transforms up to the row scaling of B^T and G."""
    at, g, bt = winograd.cook_toom(2, 3)
    assert at == ((1, 1, 1, 0), (0, 1, -1, 1))
    assert bt == ((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, -1, 0, 1))
    assert np.array(g, float).tolist() == [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5],
                                           [0, 0, 1]]
    with pytest.raises(ValueError, match=r"cook_toom: F\(5, 5\) needs"):
        winograd.cook_toom(5, 5)


def test_numeric_module_does_not_import_sympy():
    code = ("import sys, jconv, jconv._algorithms.winograd; "
            "assert 'sympy' not in sys.modules, 'sympy imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- chunking (cache blocking) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, budget, kinds",
    [
        (ConvSpec(2, 1, 4, 3, (12, 12), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), (1, 1)),
         12000, ("batch", "batch", "channels")),
        (ConvSpec(1, 2, 2, 3, (23, 6), (3, 2), (1, 1), ((1, 2), (0, 1)), (1, 1), (1, 1)),
         1500, ("rows", "rows", "batch")),
        (ConvSpec(3, 1, 2, 6, (12, 10), (3, 3), (1, 1), ((1, 1), (0, 1)), (1, 1), (1, 1),
                  True), 6000, ("batch", "batch", "channels")),
    ],
    ids=["batch", "rows", "channels"],
)
def test_chunked_paths(spec, budget, kinds, monkeypatch, fresh_plans):
    """Batch, tile-row and channel chunks (the kernel gradient) equal the direct sum."""
    monkeypatch.setattr(winograd, "MAX_ALPHA_2D", 6)  # the budgets assume F(4, 3) tiles
    monkeypatch.setattr(winograd, "CHUNK_BYTES", budget)
    monkeypatch.setattr(winograd, "ROWS_MIN", 1)
    r = np.random.default_rng(17)
    for sp, kind in zip((spec, spec.input_grad(), spec.kernel_grad()), kinds):
        # private: explain does not report the chunking (batch, rows or channels)
        got_kind, size = winograd._chunking(sp)
        assert got_kind == kind
        if kind == "batch":
            assert size < sp.batch
        if kind == "channels":
            assert size < sp.in_channels
        x, w = r.standard_normal(sp.x_shape), r.standard_normal(sp.w_shape)
        got = run_traced(x, w, sp)
        # canonical reference through conv_ref: groups folded into channels
        wk = np.flip(w, tuple(range(3, w.ndim))) if sp.flip else w
        expected = conv_ref(
            x.reshape(sp.batch, sp.groups * sp.in_channels, *sp.in_size),
            wk.reshape(sp.groups * sp.out_channels, sp.in_channels, *sp.kernel_size),
            None, 1, sp.padding, 1, sp.groups,
        ).reshape(sp.y_shape)
        close(got, expected)


def test_small_kernel_channel_chunks_stay_deep(monkeypatch, fresh_plans):
    """Small images with many channels are cut along the input channels (their kernel
    tiles outweigh the image tiles), in chunks of at least `DEPTH_MIN` channels so that
    the GEMMs contract enough; the chunked forward pass equals the direct sum."""
    monkeypatch.setattr(winograd, "MAX_ALPHA_2D", 6)  # the budgets assume F(4, 3) tiles
    late = ConvSpec(8, 1, 512, 512, (7, 7), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), (1, 1))
    # private: explain does not report the chunking
    assert winograd._chunking(late) == ("channels", winograd.DEPTH_MIN)
    small = ConvSpec(2, 1, 8, 6, (4, 4), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), (1, 1))
    monkeypatch.setattr(winograd, "CHUNK_BYTES", 4000)  # chunks of 2 channels would fit
    monkeypatch.setattr(winograd, "DEPTH_MIN", 4)
    assert winograd._chunking(small) == ("channels", 4)
    r = np.random.default_rng(23)
    x, w = r.standard_normal(small.x_shape), r.standard_normal(small.w_shape)
    expected = conv_ref(x.reshape(2, 8, 4, 4), w.reshape(6, 8, 3, 3), None, 1,
                        small.padding, 1, 1).reshape(small.y_shape)
    close(run_traced(x, w, small), expected)
