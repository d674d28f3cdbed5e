"""Fault injection: deliberately wrong numeric functions must fail the relevant checks.

Each fault is paired with its correct counterpart (same construction, bug removed),
which must pass: a check that fails everything proves nothing either.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import jconv
from jconv import symbolic as S

# -- 1. a convolution that does not flip the kernel ----------------------------------------


def convolve_without_flip(a, b, mode="full", axes=None):
    """Slides b over a unflipped: a correlation, posing as a convolution."""
    return jconv.correlate(a, b, mode, axes=axes)


@pytest.mark.parametrize("mode", ["full", "same", "circular"])
def test_missing_kernel_flip_fails_convolve_check(mode):
    m = 5 if mode == "circular" else 3
    assert S.check_operator("convolve", (5,), (m,), mode=mode, numeric=jconv.convolve).holds is True
    bad = S.check_operator("convolve", (5,), (m,), mode=mode, numeric=convolve_without_flip)
    assert bad.holds is False and "one-hot probing" in bad.details


def test_missing_kernel_flip_fails_the_circular_convolve_check():
    def spectrum(a, b, mode, axes=None):
        return jnp.real(jnp.fft.ifft(jnp.fft.fft(a) * jnp.fft.fft(b)))

    def spectrum_conjugated(a, b, mode, axes=None):  # a circular correlation
        return jnp.real(jnp.fft.ifft(jnp.fft.fft(a) * jnp.conj(jnp.fft.fft(b))))

    assert S.check_operator("convolve", (8,), (8,), mode="circular", numeric=spectrum).holds
    assert S.check_operator("convolve", (8,), (8,), mode="circular",
                            numeric=spectrum_conjugated).holds is False


# -- 2. off-by-one padding -------------------------------------------------------------------


def conv_padding_shifted(x, w, padding=0, **kw):
    """Pads one more at the start and one less at the end: same shape, shifted windows."""
    return jconv.conv(x, w, padding=((padding + 1, padding - 1),), **kw)


def conv_padding_exact(x, w, padding=0, **kw):
    return jconv.conv(x, w, padding=((padding, padding),), **kw)


def test_off_by_one_padding_fails_conv_check():
    assert S.check_operator("conv", (1, 2, 6), (2, 2, 3), padding=1, numeric=conv_padding_exact).holds
    bad = S.check_operator("conv", (1, 2, 6), (2, 2, 3), padding=1, numeric=conv_padding_shifted)
    assert bad.holds is False and "integer data" in bad.details


def test_off_by_one_padding_breaks_adjointness():
    def transpose_shifted(y, w, padding, **kw):
        (lo, hi), = padding
        return jconv.conv_transpose(y, w, padding=((lo + 1, hi - 1),), **kw)

    assert S.check_operator("transpose_adjoint", (1, 2, 7), (2, 2, 3), stride=2, padding=1).holds
    assert S.check_operator("transpose_adjoint", (1, 2, 7), (2, 2, 3), stride=2, padding=1,
                                     numeric=transpose_shifted).holds is False


# -- 3. output channels mapped to the wrong group ------------------------------------------


def conv_interleaved_groups(x, w, groups=1, **kw):
    """Output channel o uses group o % G instead of o // (C_out / G)."""
    cg = x.shape[1] // groups
    parts = [jconv.conv(x[:, g * cg:(g + 1) * cg], w[g::groups], **kw) for g in range(groups)]
    y = jnp.stack(parts, axis=2)  # (N, C_out/G, G, *O): channel j*G + g comes from group g
    return y.reshape(y.shape[0], -1, *y.shape[3:])


def conv_contiguous_groups(x, w, groups=1, **kw):
    """The same construction with the right map: output channel o uses group o // og."""
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    parts = [jconv.conv(x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og], **kw)
             for g in range(groups)]
    return jnp.concatenate(parts, axis=1)


def test_wrong_group_mapping_fails_the_conv_check():
    shapes = ((1, 4, 5), (4, 2, 3))
    assert S.check_operator("conv", *shapes, groups=2, padding=1, numeric=conv_contiguous_groups).holds
    bad = S.check_operator("conv", *shapes, groups=2, padding=1, numeric=conv_interleaved_groups)
    assert bad.holds is False and "one-hot probing" in bad.details


# -- 4. a transposed / backward convolution that forgets to flip the kernel ------------------


def _input_grad(ct, w, padding, flip):
    k = w.shape[-1]
    wt = jnp.swapaxes(w, 0, 1)
    return jconv.conv(ct, wt[..., ::-1] if flip else wt, padding=k - 1 - padding)


def input_grad_without_flip(ct, w, input_shape, padding=0):
    return _input_grad(ct, w, padding, flip=False)


def input_grad_with_flip(ct, w, input_shape, padding=0):
    return _input_grad(ct, w, padding, flip=True)


def test_missing_flip_fails_input_grad_check():
    shapes = ((1, 2, 6), (3, 2, 3))
    assert S.check_operator("input_grad", *shapes, padding=1, numeric=input_grad_with_flip).holds is True
    bad = S.check_operator("input_grad", *shapes, padding=1, numeric=input_grad_without_flip)
    assert bad.holds is False and "one-hot probing" in bad.details


def test_missing_flip_fails_transpose_adjoint_check():
    def transpose(y, w, padding, flip, **kw):
        (lo, _), = padding
        return _input_grad(y, w, lo, flip)

    shapes = ((1, 2, 6), (3, 2, 3))
    assert S.check_operator("transpose_adjoint", *shapes, padding=1, numeric=lambda y, w, **kw: transpose(
        y, w, flip=True, **kw)).holds is True
    assert S.check_operator("transpose_adjoint", *shapes, padding=1, numeric=lambda y, w, **kw: transpose(
        y, w, flip=False, **kw)).holds is False


def _conv_with_vjp(input_grad):
    @jax.custom_vjp
    def f(x, w):
        return jconv.conv(x, w, padding=1)

    def fwd(x, w):
        return f(x, w), (x, w)

    def bwd(res, ct):
        x, w = res
        return (input_grad(ct, w, x.shape, padding=1),
                jconv.conv_kernel_grad(x, ct, w.shape, padding=1))

    f.defvjp(fwd, bwd)
    return lambda x, w, **kw: f(x, w)


def test_missing_flip_in_a_custom_vjp_fails_vjp_check():
    shapes = ((1, 2, 6), (3, 2, 3))
    assert S.check_operator("vjp", *shapes, padding=1, numeric=_conv_with_vjp(input_grad_with_flip)).holds
    bad = S.check_operator("vjp", *shapes, padding=1, numeric=_conv_with_vjp(input_grad_without_flip))
    assert bad.holds is False and "jax.vjp in x" in bad.details


# -- other faults ----------------------------------------------------------------------------


def test_not_bilinear_fails():
    bad = S.check_operator("conv", (1, 1, 5), (1, 1, 2), numeric=lambda x, w, **kw: jconv.conv(x, w) + 1.0)
    assert bad.holds is False and "bilinearity" in bad.details


def test_wrong_bias_fails():
    def bias_summed(x, w, b=None, **kw):
        y = jconv.conv(x, w, **kw)
        return y if b is None else y + jnp.sum(b)

    assert S.check_operator("conv", (1, 2, 5), (3, 2, 2), bias=True).holds is True
    assert S.check_operator("conv", (1, 2, 5), (3, 2, 2), bias=True, numeric=bias_summed).holds is False


def test_refusal_is_a_skip_and_other_errors_fail():
    def refuses(x, w, **kw):
        raise jconv.AlgorithmRefused("jconv.conv: algorithm='demo' cannot compute the forward "
                                     "pass: demo")

    def crashes(x, w, **kw):
        raise RuntimeError("boom")

    skipped = S.check_operator("conv", (1, 1, 4), (1, 1, 2), numeric=refuses)
    assert skipped.holds is None and "cannot compute" in skipped.details
    failed = S.check_operator("conv", (1, 1, 4), (1, 1, 2), numeric=crashes)
    assert failed.holds is False and "RuntimeError" in failed.details


def test_non_traceable_numeric_is_probed_call_by_call():
    import numpy as np
    import scipy.signal

    def scipy_convolve(a, b, mode="full", axes=None):
        return scipy.signal.convolve(np.asarray(a), np.asarray(b), mode)

    result = S.check_operator("convolve", (4,), (2,), mode="full", numeric=scipy_convolve)
    assert result.holds is True and "one call at a time" in result.details
