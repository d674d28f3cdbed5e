r"""The numeric functions against the reference semantics, one bilinear map at a time.

Each check takes the numeric function as an argument (default: the `jconv` function,
with ``algorithm=`` forcing one algorithm), so a deliberately wrong function can be
passed in to see the check fail. All run in float64 with ``jax_enable_x64`` on.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy

from ._arrays import as_object_array
from ._matrix import conv_matrix, conv_transpose_matrix, convolve_matrix, kernel_matrix, vec
from ._probe import check_bilinear_operator
from ._reference import (
    conv,
    conv_out_size,
    conv_setup,
    conv_transpose,
    convolve,
    correlate,
)
from ._result import CheckResult, combine


def _jconv():
    import jconv

    return jconv


def _freeze(v):
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(u) for u in v)
    return v


def _key(tag, kw):
    return (tag, tuple(sorted((k, _freeze(v)) for k, v in kw.items())))


def _label(numeric, algorithm):
    if numeric is None:
        return algorithm
    return getattr(numeric, "__name__", "custom")


def conv_output_shape(x_shape, w_shape, **conv_kwargs) -> tuple[int, ...]:
    r"""The output shape of `jconv.conv`, from the window-count formula.

    $$o = \Big\lfloor \frac{n + lo + hi - d (k - 1) - 1}{s} \Big\rfloor + 1$$

    Equivalent to ``jax.eval_shape(jconv.conv, x, w, ...).shape``, derived independently.

    Args:
        x_shape, w_shape: the operand shapes.
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        The output shape.

    Raises:
        TypeError, ValueError: the argument errors of `jconv.conv`.

    Example:
        >>> conv_output_shape((1, 3, 32, 32), (8, 3, 5, 5), stride=2, padding="same")
        (1, 8, 16, 16)
    """
    setup = conv_setup("jconv.symbolic.conv_output_shape", tuple(x_shape), tuple(w_shape),
                       None, conv_kwargs)
    out = tuple(
        conv_out_size(n, k, s, d, lo, hi)
        for n, k, s, d, (lo, hi) in zip(setup["sizes"], setup["kernel"], setup["stride"],
                                        setup["dilation"], setup["pads"])
    )
    c_out = w_shape[-1] if setup["channels_last"] else w_shape[0]
    n = x_shape[0]
    return (n, *out, c_out) if setup["channels_last"] else (n, c_out, *out)


def conv_matrix_form(x_shape, w_shape, **conv_kwargs):
    r"""``(X, W) -> [M(W) vec(X[n])]_n``: `jconv.conv` through its symbolic matrix.

    $$\operatorname{vec}(y[n]) = M(W)\, \operatorname{vec}(X[n])$$

    Equivalent to `jconv.symbolic.conv` (`check_matrix_forms` proves it), built from
    `conv_matrix` instead of the sum.

    Args:
        x_shape, w_shape: the operand shapes (batch first).
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        A function of two SymPy arrays returning the output array.

    Example:
        >>> from jconv.symbolic import symbols
        >>> f = conv_matrix_form((1, 1, 3), (1, 1, 2))
        >>> f(symbols("x", (1, 1, 3)), symbols("w", (1, 1, 2)))
        [[[w_0_0_0*x_0_0_0 + w_0_0_1*x_0_0_1, w_0_0_0*x_0_0_1 + w_0_0_1*x_0_0_2]]]
    """
    out_shape = conv_output_shape(x_shape, w_shape, **conv_kwargs)

    def form(X, W):
        M = conv_matrix(W, x_shape[1:], **conv_kwargs)
        xs = as_object_array(X, "jconv.symbolic", "X")
        entries = [e for n in range(x_shape[0]) for e in M * vec(xs[n])]
        return sympy.ImmutableDenseNDimArray(entries, out_shape)

    return form


def check_conv(
    x_shape, w_shape, *, numeric=None, algorithm: str = "auto", bias: bool = False,
    integer: bool = False, **conv_kwargs,
) -> CheckResult:
    r"""`jconv.conv` (or ``numeric``) equals the defining sum, completely, at one shape.

    $$\text{numeric}(x, w) = \text{conv}_{\text{sym}}(x, w) \text{ as bilinear maps}$$

    One-hot probing in ``x`` and ``w`` recovers the whole operator and compares it entry
    by entry with the symbolic matrix ``M(w)`` (`conv_matrix`, applied to every
    sample); the integer-data comparison uses the defining sum (`jconv.symbolic.conv`)
    evaluated exactly (see `check_bilinear_operator`). With ``bias=True`` the affine
    part is checked too (``f(x, w, b) - f(x, w) = b`` per output channel).

    Equivalent to ``jax.jacfwd`` of both arguments against the symbolic Jacobian.

    Args:
        x_shape, w_shape: operand shapes (as for `jconv.conv`).
        numeric: ``numeric(x, w, [bias,] **conv_kwargs)``; default `jconv.conv` with
            ``algorithm``.
        algorithm: the algorithm forced on the default function.
        bias: also check the bias.
        integer: also require exact int64 results.
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        A `CheckResult` (skipped when the algorithm refuses the configuration).

    Example:
        >>> check_conv((1, 2, 5), (4, 1, 3), groups=2, padding=1).holds
        True
    """
    label = _label(numeric, algorithm)
    if numeric is None:
        numeric = functools.partial(_jconv().conv, algorithm=algorithm)
    result = check_bilinear_operator(
        lambda x, w: numeric(x, w, **conv_kwargs),
        conv_matrix_form(tuple(x_shape), tuple(w_shape), **conv_kwargs),
        x_shape, w_shape, a_name="x", b_name="w", integer=integer,
        reference=lambda x, w: conv(x, w, **conv_kwargs),
        compared_with="the symbolic matrix M(w)", reference_label="the defining sum",
        cache_key=_key(("conv", tuple(x_shape)), conv_kwargs),
        name=f"conv [{label}]",
        statement="the numeric conv equals the defining sum (the whole bilinear operator)",
        latex=r"y[n,o,p] = \sum_{c,t} w[o,c,t]\,\tilde x[n, g(o)\tfrac{C_{in}}{G}+c, ps+td]",
    )
    if not bias or not result:
        return result
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        x = jnp.asarray(rng.integers(-9, 10, x_shape), jnp.float64)
        w = jnp.asarray(rng.integers(-9, 10, w_shape), jnp.float64)
        c_out = w_shape[-1] if conv_kwargs.get("channels_last") else w_shape[0]
        b = jnp.asarray(rng.integers(-9, 10, (c_out,)), jnp.float64)
        diff = np.asarray(numeric(x, w, b, **conv_kwargs) - numeric(x, w, **conv_kwargs))
        axis = -1 if conv_kwargs.get("channels_last") else 1
        expected = np.broadcast_to(
            np.asarray(b).reshape([-1 if i == axis % diff.ndim else 1 for i in range(diff.ndim)]),
            diff.shape,
        )
        ok = float(np.max(np.abs(diff - expected), initial=0.0)) <= 1e-9 * 10
    details = result.details + ("; the bias adds b[o] to every output of channel o" if ok
                                else "; the bias is NOT added per output channel")
    return CheckResult(result.name, result.statement + " and adds the bias", ok,
                       result.scope, details, result.elapsed, result.latex)


def check_conv_transpose(
    x_shape, w_shape, *, numeric=None, algorithm: str = "auto", integer: bool = False,
    **kwargs,
) -> CheckResult:
    r"""`jconv.conv_transpose` (or ``numeric``) equals its scatter definition, completely.

    $$y[q] = \sum_{i, t\,:\, i s + t d = q + lo} x[i]\, w[t]$$

    (per channel pair of a group): one-hot probing compares the whole operator entry by
    entry with the symbolic matrix `conv_transpose_matrix`, and integer data with the
    scatter sum `jconv.symbolic.conv_transpose` evaluated exactly.

    Equivalent to ``torch.nn.functional.conv_transpose{1,2,3}d`` semantics.

    Args:
        x_shape, w_shape: operand shapes (``w``: ``(C_in, C_out // groups, *k)``).
        numeric: ``numeric(x, w, **kwargs)``; default `jconv.conv_transpose`.
        algorithm: the algorithm forced on the default function.
        integer: also require exact int64 results.
        **kwargs: as for `jconv.conv_transpose`.

    Returns:
        A `CheckResult`.

    Example:
        >>> check_conv_transpose((1, 2, 3), (2, 1, 3), stride=2).holds
        True
    """
    label = _label(numeric, algorithm)
    if numeric is None:
        numeric = functools.partial(_jconv().conv_transpose, algorithm=algorithm)
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    out_shape = conv_transpose(np.zeros(x_shape, np.int64), np.zeros(w_shape, np.int64),
                               **kwargs).shape

    def matrix_form(Y, W):
        T = conv_transpose_matrix(W, x_shape[1:], **kwargs)
        ys = as_object_array(Y, "jconv.symbolic", "Y")
        entries = [e for n in range(x_shape[0]) for e in T * vec(ys[n])]
        return sympy.ImmutableDenseNDimArray(entries, out_shape)

    return check_bilinear_operator(
        lambda x, w: numeric(x, w, **kwargs),
        matrix_form,
        x_shape, w_shape, a_name="y", b_name="w", integer=integer,
        reference=lambda y, w: conv_transpose(y, w, **kwargs),
        compared_with="the symbolic matrix (conv_transpose_matrix)",
        reference_label="the scatter sum",
        cache_key=_key(("conv_transpose", x_shape), kwargs),
        name=f"conv_transpose [{label}]",
        statement="the numeric conv_transpose equals its scatter definition",
        latex=r"y[q] = \sum_{i s + t d = q + lo} x[i]\, w[t]",
    )


def _signal_check(kind, a_shape, b_shape, mode, axes, numeric, method, integer):
    jc = _jconv()
    label = _label(numeric, method)
    fn = getattr(jc, kind)
    if numeric is None:
        numeric = functools.partial(fn, method=method)
    reference = convolve if kind == "convolve" else correlate
    formula = (r"(a * b)[k] = \sum_j a[k-j]\, b[j]" if kind == "convolve"
               else r"(a \star b)[k] = \sum_j a[k-(m-1)+j]\, \overline{b[j]}")
    symbolic = lambda A, B: reference(A, B, mode, axes=axes)  # noqa: E731
    if kind == "convolve" and axes is None:  # probe against the Toeplitz/circulant matrix
        def symbolic(A, B):
            T = convolve_matrix(B, tuple(a_shape), mode)
            out = reference(np.zeros(a_shape, np.int64), np.zeros(b_shape, np.int64), mode).shape
            return sympy.ImmutableDenseNDimArray(list(T * vec(A)), out)
    return check_bilinear_operator(
        lambda a, b: numeric(a, b, mode, axes=axes),
        symbolic,
        a_shape, b_shape, integer=integer,
        reference=lambda a, b: reference(a, b, mode, axes=axes),
        compared_with=("the symbolic matrix (convolve_matrix)"
                       if kind == "convolve" and axes is None else "the defining sum"),
        reference_label="the defining sum",
        cache_key=(kind, mode, _freeze(axes), tuple(a_shape), tuple(b_shape)),
        name=f"{kind} {mode} [{label}]",
        statement=f"the numeric {kind}(mode={mode!r}) equals its defining sum",
        latex=formula,
    )


def check_convolve(
    a_shape, b_shape, mode: str = "full", *, axes=None, numeric=None,
    method: str = "auto", integer: bool = False,
) -> CheckResult:
    r"""`jconv.convolve` (or ``numeric``) equals the defining sum, completely.

    $$(a * b)[k] = \sum_j a[k - j]\, b[j]$$

    compared by one-hot probing with the symbolic `convolve_matrix` (Toeplitz, or
    circulant for ``"circular"``; the defining sum when ``axes`` is given) and on
    integer data with the defining sum `jconv.symbolic.convolve` (the kernel is flipped:
    a function that forgets the flip fails).

    Equivalent to ``scipy.signal.convolve`` semantics plus ``mode="circular"``.

    Args:
        a_shape, b_shape: operand shapes.
        mode: ``"full"``, ``"same"``, ``"valid"`` or ``"circular"``.
        axes: the convolved axes.
        numeric: ``numeric(a, b, mode, axes=axes)``; default `jconv.convolve`.
        method: the algorithm forced on the default function.
        integer: also require exact int64 results.

    Returns:
        A `CheckResult`.

    Example:
        >>> check_convolve((5,), (3,), "same").holds
        True
    """
    return _signal_check("convolve", a_shape, b_shape, mode, axes, numeric, method, integer)


def check_correlate(
    a_shape, b_shape, mode: str = "full", *, axes=None, numeric=None,
    method: str = "auto", integer: bool = False,
) -> CheckResult:
    r"""`jconv.correlate` (or ``numeric``) equals the defining sum, completely.

    $$(a \star b)[k] = \sum_j a[k - (m - 1) + j]\, \overline{b[j]}$$

    (circular: lag ``k``), compared by one-hot probing with `jconv.symbolic.correlate`.

    Equivalent to ``scipy.signal.correlate`` semantics plus ``mode="circular"``.

    Args:
        a_shape, b_shape, mode, axes, method, integer: as for `check_convolve`.
        numeric: ``numeric(a, b, mode, axes=axes)``; default `jconv.correlate`.

    Returns:
        A `CheckResult`.

    Example:
        >>> check_correlate((5,), (3,), "valid").holds
        True
    """
    return _signal_check("correlate", a_shape, b_shape, mode, axes, numeric, method, integer)


# ---------------------------------------------------------------------------------------
# The adjoint: VJPs and conv_transpose against the transposed symbolic matrices
# ---------------------------------------------------------------------------------------


def input_grad_symbolic(x_shape, **conv_kwargs):
    """``(CT, W) -> M(W)^T vec(CT[n])`` per sample: the symbolic input VJP."""
    def form(CT, W):
        MT = conv_matrix(W, x_shape[1:], **conv_kwargs).T
        cts = as_object_array(CT, "jconv.symbolic", "CT")
        entries = [e for n in range(x_shape[0]) for e in MT * vec(cts[n])]
        return sympy.ImmutableDenseNDimArray(entries, x_shape)

    return form


def kernel_grad_symbolic(w_shape, **conv_kwargs):
    """``(X, CT) -> A(X)^T vec(CT)``: the symbolic kernel VJP."""
    def form(X, CT):
        A = kernel_matrix(X, w_shape, **conv_kwargs)
        col = A.T * vec(CT)
        return sympy.ImmutableDenseNDimArray(list(col), tuple(w_shape))

    return form


def check_input_grad(
    x_shape, w_shape, *, numeric=None, algorithm: str = "auto", **conv_kwargs,
) -> CheckResult:
    r"""The input VJP equals ``M^T``: `jconv.conv_input_grad` (or ``numeric``), completely.

    $$\frac{\partial L}{\partial x} = M(w)^{\mathsf T} \frac{\partial L}{\partial y}$$

    with ``M`` = `conv_matrix`. One-hot probing in the cotangent and the kernel recovers
    the numeric map, compared with the transposed symbolic matrix entry by entry.

    Equivalent to ``torch.nn.grad.conv{1,2,3}d_input`` against the transposed matrix.

    Args:
        x_shape, w_shape: the forward operand shapes.
        numeric: ``numeric(ct, w, x_shape, **conv_kwargs)``; default
            `jconv.conv_input_grad` with ``algorithm``.
        algorithm: the algorithm forced on the default function.
        **conv_kwargs: the forward `jconv.conv` arguments.

    Returns:
        A `CheckResult`.

    Example:
        >>> check_input_grad((1, 1, 6), (1, 1, 3), stride=2).holds
        True
    """
    label = _label(numeric, algorithm)
    if numeric is None:
        numeric = functools.partial(_jconv().conv_input_grad, algorithm=algorithm)
    y_shape = conv_output_shape(x_shape, w_shape, **conv_kwargs)
    return check_bilinear_operator(
        lambda ct, w: numeric(ct, w, tuple(x_shape), **conv_kwargs),
        input_grad_symbolic(tuple(x_shape), **conv_kwargs),
        y_shape, w_shape, a_name="dy", b_name="w",
        cache_key=_key(("input_grad", tuple(x_shape)), conv_kwargs),
        compared_with="M(w)^T",
        name=f"input VJP = M^T [{label}]",
        statement="conv_input_grad(dy, w) = M(w)^T dy",
        latex=r"\nabla_x L = M(w)^{\mathsf T}\, \nabla_y L",
    )


def check_kernel_grad(
    x_shape, w_shape, *, numeric=None, algorithm: str = "auto", **conv_kwargs,
) -> CheckResult:
    r"""The kernel VJP equals ``A^T``: `jconv.conv_kernel_grad` (or ``numeric``), completely.

    $$\frac{\partial L}{\partial w} = A(x)^{\mathsf T} \frac{\partial L}{\partial y}$$

    with ``A`` = `kernel_matrix` (batched over ``x``'s samples).

    Equivalent to ``torch.nn.grad.conv{1,2,3}d_weight`` against the transposed matrix.

    Args:
        x_shape, w_shape: the forward operand shapes.
        numeric: ``numeric(x, ct, w_shape, **conv_kwargs)``; default
            `jconv.conv_kernel_grad` with ``algorithm``.
        algorithm: the algorithm forced on the default function.
        **conv_kwargs: the forward `jconv.conv` arguments.

    Returns:
        A `CheckResult`.

    Example:
        >>> check_kernel_grad((2, 1, 6), (1, 1, 3), dilation=2).holds
        True
    """
    label = _label(numeric, algorithm)
    if numeric is None:
        numeric = functools.partial(_jconv().conv_kernel_grad, algorithm=algorithm)
    y_shape = conv_output_shape(x_shape, w_shape, **conv_kwargs)
    return check_bilinear_operator(
        lambda x, ct: numeric(x, ct, tuple(w_shape), **conv_kwargs),
        kernel_grad_symbolic(tuple(w_shape), **conv_kwargs),
        x_shape, y_shape, a_name="x", b_name="dy",
        cache_key=_key(("kernel_grad", tuple(w_shape)), conv_kwargs),
        compared_with="A(x)^T",
        name=f"kernel VJP = A^T [{label}]",
        statement="conv_kernel_grad(x, dy) = A(x)^T dy",
        latex=r"\nabla_w L = A(x)^{\mathsf T}\, \nabla_y L",
    )


def matching_transpose_kwargs(x_shape, w_shape, **conv_kwargs) -> dict:
    r"""The `jconv.conv_transpose` arguments whose output has the shape of ``x``.

    $$\text{output\_padding} = (n + lo + hi - d (k - 1) - 1) \bmod s$$

    (the input tail that no forward window reaches), with the same stride, explicit
    padding pairs, dilation and groups.

    Equivalent to PyTorch's ``output_size=`` argument of ``ConvTranspose``.

    Args:
        x_shape, w_shape: the forward `jconv.conv` operand shapes (channels first).
        **conv_kwargs: the forward arguments (zero padding mode).

    Returns:
        A dict of `jconv.conv_transpose` keyword arguments.

    Raises:
        ValueError: a padding mode other than zeros, or channels_last.

    Example:
        >>> matching_transpose_kwargs((1, 1, 6), (1, 1, 3), stride=2, padding=1)["output_padding"]
        (1,)
    """
    fn = "jconv.symbolic.matching_transpose_kwargs"
    if conv_kwargs.get("padding_mode", "zeros") != "zeros" or conv_kwargs.get("channels_last"):
        raise ValueError(f"{fn}: only padding_mode='zeros' with channels first has a "
                         f"transposed convolution of the same form")
    s = conv_setup(fn, tuple(x_shape), tuple(w_shape), None, conv_kwargs)
    rem = tuple(
        (n + lo + hi - d * (k - 1) - 1) % st
        for n, k, st, d, (lo, hi) in zip(s["sizes"], s["kernel"], s["stride"], s["dilation"],
                                          s["pads"])
    )
    return dict(stride=s["stride"], padding=s["pads"], output_padding=rem,
                dilation=s["dilation"], groups=s["groups"])


def check_transpose_adjoint(
    x_shape, w_shape, *, numeric=None, algorithm: str = "auto", **conv_kwargs,
) -> CheckResult:
    r"""`jconv.conv_transpose` (or ``numeric``) is ``M^T``, the adjoint of `conv`, completely.

    $$\text{conv\_transpose}(y, w) = M(w)^{\mathsf T} y, \qquad
      \langle M x, y\rangle = \langle x, M^{\mathsf T} y\rangle$$

    for the `conv` with these arguments and the matching ``output_padding``
    (`matching_transpose_kwargs`), by one-hot probing against the transposed symbolic
    matrix (not against the symbolic conv_transpose: that equality is `check_adjoint`).

    Equivalent to the input VJP of `jconv.conv`.

    Args:
        x_shape, w_shape: the forward `jconv.conv` operand shapes.
        numeric: ``numeric(y, w, **transpose_kwargs)``; default `jconv.conv_transpose`.
        algorithm: the algorithm forced on the default function.
        **conv_kwargs: the forward arguments (zero padding, channels first).

    Returns:
        A `CheckResult`.

    Example:
        >>> check_transpose_adjoint((1, 2, 7), (2, 2, 3), stride=2, padding=1).holds
        True
    """
    label = _label(numeric, algorithm)
    if numeric is None:
        numeric = functools.partial(_jconv().conv_transpose, algorithm=algorithm)
    tkw = matching_transpose_kwargs(x_shape, w_shape, **conv_kwargs)
    y_shape = conv_output_shape(x_shape, w_shape, **conv_kwargs)
    return check_bilinear_operator(
        lambda y, w: numeric(y, w, **tkw),
        input_grad_symbolic(tuple(x_shape), **conv_kwargs),
        y_shape, w_shape, a_name="dy", b_name="w",
        cache_key=_key(("input_grad", tuple(x_shape)), conv_kwargs),
        compared_with="M(w)^T",
        name=f"conv_transpose = M^T [{label}]",
        statement="conv_transpose(y, w) = M(w)^T y for the matching conv",
        latex=r"\mathrm{conv\_transpose}(y, w) = M(w)^{\mathsf T} y",
    )


def check_vjp(
    x_shape, w_shape, *, numeric=None, algorithm: str = "auto", **conv_kwargs,
) -> CheckResult:
    r"""Reverse-mode differentiation of `jconv.conv` gives ``M^T`` and ``A^T``, completely.

    $$\mathrm{vjp}_x(\bar y) = M(w)^{\mathsf T} \bar y, \qquad
      \mathrm{vjp}_w(\bar y) = A(x)^{\mathsf T} \bar y$$

    ``jax.vjp`` of ``numeric`` in ``x`` (a bilinear map of ``(dy, w)``) and in ``w`` (of
    ``(x, dy)``) are each probed one-hot and compared with the transposed symbolic
    matrices.

    Equivalent to ``jax.grad`` of ``<conv(x, w), dy>`` in each argument.

    Args:
        x_shape, w_shape: operand shapes.
        numeric: ``numeric(x, w, **conv_kwargs)``; default `jconv.conv` with ``algorithm``.
        algorithm: the algorithm forced on the default function.
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        A `CheckResult` combining both VJPs.

    Example:
        >>> check_vjp((1, 2, 5), (2, 1, 3), groups=2).holds
        True
    """
    import jax
    import jax.numpy as jnp

    label = _label(numeric, algorithm)
    if numeric is None:
        numeric = functools.partial(_jconv().conv, algorithm=algorithm)

    def vjp_x(ct, w):
        return jax.vjp(lambda x: numeric(x, w, **conv_kwargs),
                       jnp.zeros(x_shape, ct.dtype))[1](ct)[0]

    def vjp_w(x, ct):
        return jax.vjp(lambda w: numeric(x, w, **conv_kwargs),
                       jnp.zeros(w_shape, ct.dtype))[1](ct)[0]

    y_shape = conv_output_shape(x_shape, w_shape, **conv_kwargs)
    parts = [
        check_bilinear_operator(
            vjp_x, input_grad_symbolic(tuple(x_shape), **conv_kwargs), y_shape, w_shape,
            a_name="dy", b_name="w",
            cache_key=_key(("input_grad", tuple(x_shape)), conv_kwargs),
            compared_with="M(w)^T", name=f"jax.vjp in x [{label}]", statement="vjp_x = M^T"),
        check_bilinear_operator(
            vjp_w, kernel_grad_symbolic(tuple(w_shape), **conv_kwargs), x_shape, y_shape,
            a_name="x", b_name="dy",
            cache_key=_key(("kernel_grad", tuple(w_shape)), conv_kwargs),
            compared_with="A(x)^T", name=f"jax.vjp in w [{label}]", statement="vjp_w = A^T"),
    ]
    return combine(
        f"jax.vjp of conv [{label}]",
        "reverse-mode differentiation of conv gives M^T (in x) and A^T (in w)",
        parts,
        latex=r"\mathrm{vjp}_x = M(w)^{\mathsf T},\ \mathrm{vjp}_w = A(x)^{\mathsf T}",
    )
