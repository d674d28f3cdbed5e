r"""Adjointness: the backward passes of a convolution are convolutions.

For ``y = M(w) x`` (``M`` = `conv_matrix`) and ``y = A(x) w`` (``A`` = `kernel_matrix`):
the input VJP is ``M^T``, the kernel VJP is ``A^T``, and `conv_transpose` is ``M^T``.
Both transposes are again convolutions: the input VJP correlates the stride-dilated
cotangent with the flipped kernel (channel axes swapped), the kernel VJP correlates the
input with the cotangent, stride and dilation exchanged. These are the statements the
numeric VJPs are built on; here they are proved from the defining sums.
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy import Function, KroneckerDelta, Sum

from ._arrays import as_object_array, symbols, to_sympy_array
from ._exact import first_difference
from ._matrix import conv_matrix, conv_transpose_matrix, kernel_matrix, vec
from ._numeric import conv_output_shape, matching_transpose_kwargs
from ._reference import conv, conv_setup
from ._result import ALL_SIZES, CheckResult, Timer, verified_for


def _canonical_deltas(expr):
    """Write every ``KroneckerDelta(a, b)`` as ``KroneckerDelta(e, 0)`` with a fixed sign of e."""
    def canon(z):
        e = sympy.expand(z.args[0] - z.args[1])
        if e.could_extract_minus_sign():
            e = -e
        return KroneckerDelta(e, 0)

    return expr.replace(lambda z: isinstance(z, KroneckerDelta), canon)


def prove_adjoint() -> CheckResult:
    r"""The transposed convolution is ``M^T``, and both VJPs are convolutions, for all sizes.

    $$M_{p i} = \sum_t w_t [p s + t d = i + lo] = T_{i p},\qquad
      (M^{\mathsf T}\bar y)_i = \sum_{t'} \bar y^{\uparrow s}_{\,i + t' d - (d(K-1) - lo)}
      \, w_{K-1-t'},\qquad (A^{\mathsf T}\bar y)_t = \sum_p \bar y_p\, x_{t d + p s - lo}$$

    With symbolic stride ``s``, dilation ``d``, padding ``lo`` and ``K`` taps (per
    spatial dim and channel pair; zero-extended signals):

    1. the scatter definition of `conv_transpose` has entry ``T[i, p]`` with exactly the
       bracket of ``M[p, i]``: ``T = M^T``;
    2. ``M^T ct`` is a correlation of the cotangent spread by ``s`` (``ct^s``) with the
       flipped kernel, dilation ``d`` and low padding ``d (K - 1) - lo``: SymPy swaps the
       sums and substitutes ``t' = K - 1 - t``, and the two double sums agree;
    3. ``A^T ct`` is the canonical correlation of ``x`` with kernel ``ct`` for stride
       ``d`` and dilation ``s`` (stride and dilation exchange roles).

    The VJP of a linear map ``x -> M x`` is ``ct -> M^T ct`` by definition, so the input
    and kernel VJPs of `conv` are these convolutions.

    Equivalent to the transpose rules of ``jax.lax.conv_general_dilated``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_adjoint().holds
        True
    """
    with Timer() as timer:
        w, x, ct = Function("w"), Function("x"), Function("ct")
        p, i, t, tp, s, d, lo, K, O = sympy.symbols("p i t t' s d lo K O", integer=True)
        M_pi = Sum(w(t) * KroneckerDelta(p * s + t * d, i + lo), (t, 0, K - 1))

        def T(out, inp):  # conv_transpose: input position inp scatters to out
            return Sum(w(t) * KroneckerDelta(inp * s + t * d, out + lo), (t, 0, K - 1))

        ok_transpose = T(i, p) == M_pi
        # (2) M^T ct as a correlation of the spread cotangent with the flipped kernel
        mt_ct = Sum(ct(p) * w(t) * KroneckerDelta(p * s + t * d, i + lo),
                    (t, 0, K - 1), (p, 0, O - 1))
        spread = lambda j: ct(p) * KroneckerDelta(j, p * s)  # noqa: E731 - ct^s at j
        as_corr = Sum(spread(i + tp * d - (d * (K - 1) - lo)) * w(K - 1 - tp),
                      (p, 0, O - 1), (tp, 0, K - 1))
        rewritten = as_corr.reorder((p, tp)).change_index(tp, K - 1 - tp, t)
        lhs = _canonical_deltas(mt_ct)
        rhs = _canonical_deltas(rewritten)
        ok_input = (lhs.limits == rhs.limits
                    and sympy.expand(lhs.function - rhs.function) == 0)
        # (3) A^T ct as the canonical correlation with stride d and dilation s
        at_ct = Sum(ct(p) * x(p * s + t * d - lo), (p, 0, O - 1))
        s2, d2 = sympy.symbols("s' d'", integer=True)
        canonical = Sum(ct(p) * x(t * s2 + p * d2 - lo), (p, 0, O - 1))
        ok_kernel = canonical.subs({s2: d, d2: s}) == at_ct
        holds = bool(ok_transpose and ok_input and ok_kernel)
    return CheckResult(
        "adjoint (all sizes)",
        "conv_transpose = M^T; the input VJP M^T is a correlation of the stride-spread "
        "cotangent with the flipped kernel; the kernel VJP A^T is a correlation with "
        "stride and dilation exchanged",
        holds, ALL_SIZES,
        f"M[p, i] = {M_pi} = T[i, p]: {ok_transpose}; M^T ct = {mt_ct} equals the "
        f"flipped-kernel correlation after t' -> K - 1 - t: {ok_input}; A^T ct = {at_ct} "
        f"is the correlation with stride d, dilation s: {ok_kernel}",
        timer.elapsed,
        r"T = M^{\mathsf T},\quad \nabla_x = M^{\mathsf T}\bar y = \bar y^{\uparrow s}"
        r" \star w^{\leftarrow},\quad \nabla_w = A^{\mathsf T} \bar y",
    )


def _spread(ct: np.ndarray, stride) -> np.ndarray:
    """Insert ``s - 1`` zeros between neighbouring samples along each spatial axis."""
    nd = ct.ndim - 2
    shape = (*ct.shape[:2], *((o - 1) * s + 1 for o, s in zip(ct.shape[2:], stride)))
    out = np.full(shape, sympy.S.Zero, dtype=object)
    out[(slice(None), slice(None), *(slice(None, None, s) for s in stride))] = ct
    assert out.ndim == nd + 2
    return out


def check_adjoint(x_shape, w_shape, **conv_kwargs) -> CheckResult:
    r"""``conv_transpose`` is ``M^T`` and both VJPs are the convolutions of `prove_adjoint`.

    $$T = M^{\mathsf T},\quad M^{\mathsf T} \bar y = \mathrm{conv}\big(\bar y^{\uparrow s},
      \overleftarrow{w}^{\mathsf{sw}}, \text{pad} = (d(k-1) - lo,\ d(k-1) - hi + r)\big),
      \quad A^{\mathsf T}\bar y = \mathrm{conv}\big(x^{\mathsf T}, \bar y^{\mathsf T},
      \text{stride} = d, \text{dilation} = s\big)^{\mathsf T}$$

    Exact on symbol arrays (zero padding, channels first, any stride, padding,
    dilation, groups): (1) the scatter-defined `conv_transpose_matrix` with the
    matching ``output_padding`` equals the transpose of `conv_matrix`; (2) ``M^T ct``
    equals the symbolic conv of the stride-spread cotangent with the flipped kernel
    (channel axes swapped within each group); (3) ``A^T ct`` equals, per group, the
    symbolic conv of ``x`` (batch and channel axes exchanged) with the cotangent as the
    kernel, stride and dilation exchanged, high padding reduced by the remainder
    ``r = (n + lo + hi - d(k - 1) - 1) mod s``.

    Equivalent to `prove_adjoint` at one size, including the padding bookkeeping.

    Args:
        x_shape, w_shape: the forward `conv` operand shapes.
        **conv_kwargs: stride, padding, dilation, groups (zero padding mode).

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_adjoint((1, 2, 7), (2, 1, 3), stride=2, padding=1, groups=2).holds
        True
    """
    with Timer() as timer:
        x_shape, w_shape = tuple(x_shape), tuple(w_shape)
        setup = conv_setup("jconv.symbolic.check_adjoint", x_shape, w_shape, None, conv_kwargs)
        y_shape = conv_output_shape(x_shape, w_shape, **conv_kwargs)
        tkw = matching_transpose_kwargs(x_shape, w_shape, **conv_kwargs)
        W = symbols("w", w_shape)
        X = symbols("x", x_shape)
        CT = symbols("dy", y_shape)
        M = conv_matrix(W, x_shape[1:], **conv_kwargs)
        T = conv_transpose_matrix(W, y_shape[1:], **tkw)
        ok_t = first_difference(T, M.T) is None
        # (2) input VJP as a convolution
        G, kernel = setup["groups"], setup["kernel"]
        stride, dil, pads, rem = setup["stride"], setup["dilation"], setup["pads"], tkw[
            "output_padding"]
        c_out, c_group = w_shape[:2]
        og = c_out // G
        w_arr = as_object_array(W, "", "")
        flipped = w_arr[(slice(None), slice(None), *(slice(None, None, -1) for _ in kernel))]
        swapped = np.empty((G * c_group, og, *kernel), dtype=object)
        for g in range(G):
            swapped[g * c_group:(g + 1) * c_group] = np.swapaxes(
                flipped[g * og:(g + 1) * og], 0, 1)
        ct_arr = as_object_array(CT, "", "")
        grad_pads = tuple(
            (d * (k - 1) - lo, d * (k - 1) - hi + r)
            for k, d, (lo, hi), r in zip(kernel, dil, pads, rem)
        )
        dx_conv = conv(to_sympy_array(_spread(ct_arr, stride)), to_sympy_array(swapped),
                       padding=grad_pads, dilation=dil, groups=G)
        MT = M.T
        dx_matrix = [e for n in range(x_shape[0]) for e in MT * vec(ct_arr[n])]
        ok_in = first_difference(sympy.Matrix(dx_matrix),
                                 sympy.Matrix(list(as_object_array(dx_conv, "", "")
                                                   .reshape(-1)))) is None
        # (3) kernel VJP as a convolution with stride and dilation exchanged
        A = kernel_matrix(X, w_shape, **conv_kwargs)
        dw_matrix = as_object_array(
            sympy.ImmutableDenseNDimArray(list(A.T * vec(CT)), w_shape), "", "")
        x_arr = as_object_array(X, "", "")
        dw_conv = np.empty(w_shape, dtype=object)
        kpads = tuple((lo, hi - r) for (lo, hi), r in zip(pads, rem))
        for g in range(G):
            xg = np.swapaxes(x_arr[:, g * c_group:(g + 1) * c_group], 0, 1)  # (Cg, N, *S)
            cg = np.swapaxes(ct_arr[:, g * og:(g + 1) * og], 0, 1)           # (og, N, *O)
            part = as_object_array(
                conv(to_sympy_array(xg), to_sympy_array(cg), stride=dil, dilation=stride,
                     padding=kpads), "", "")                                  # (Cg, og, *K)
            dw_conv[g * og:(g + 1) * og] = np.swapaxes(part, 0, 1)
        ok_k = first_difference(to_sympy_array(dw_matrix), to_sympy_array(dw_conv)) is None
        holds = ok_t and ok_in and ok_k
    return CheckResult(
        "adjoint", "conv_transpose = M^T, input VJP = conv(spread dy, flipped swapped w), "
        "kernel VJP = conv(x^T, dy^T) with stride and dilation exchanged",
        holds,
        verified_for(f"x {x_shape}, w {w_shape}" + "".join(
            f", {k}={v!r}" for k, v in conv_kwargs.items())),
        f"T == M^T entry by entry ({M.shape[0]}x{M.shape[1]}): {ok_t}; M^T dy equals the "
        f"flipped-kernel conv with padding {grad_pads}: {ok_in}; A^T dy equals the "
        f"exchanged-stride conv with padding {kpads}: {ok_k}",
        timer.elapsed,
        r"T = M^{\mathsf T},\ M^{\mathsf T}\bar y = \bar y^{\uparrow s}\star"
        r"\overleftarrow{w},\ A^{\mathsf T}\bar y = x \star_{s \leftrightarrow d} \bar y",
    )
