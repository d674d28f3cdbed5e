r"""The operator probe: a numeric operator against its symbolic matrix, completely.

`check_operator` looks the operator up in `OPERATORS` (which jconv function, and how to
build its symbolic form and reference) and probes it with `check_bilinear_operator`.
The numeric function is an argument (default: the `jconv` function, with ``algorithm=``
forcing one algorithm), so a deliberately wrong function can be passed in to see the
check fail. Everything runs in float64 with ``jax_enable_x64`` on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

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


def _conv(numeric, x_shape, w_shape, kw):
    return dict(
        numeric=lambda x, w: numeric(x, w, **kw),
        symbolic=conv_matrix_form(x_shape, w_shape, **kw), a_shape=x_shape, b_shape=w_shape,
        a_name="x", b_name="w", reference=lambda x, w: conv(x, w, **kw),
        compared_with="the symbolic matrix M(w)", reference_label="the defining sum",
        cache_key=_key(("conv", x_shape), kw),
        statement="the numeric conv equals the defining sum (the whole bilinear operator)",
        latex=r"y[n,o,p] = \sum_{c,t} w[o,c,t]\,\tilde x[n, g(o)\tfrac{C_{in}}{G}+c, ps+td]",
    )


def _conv_transpose(numeric, x_shape, w_shape, kw):
    out_shape = conv_transpose(np.zeros(x_shape, np.int64), np.zeros(w_shape, np.int64),
                               **kw).shape

    def matrix_form(Y, W):
        T = conv_transpose_matrix(W, x_shape[1:], **kw)
        ys = as_object_array(Y, "jconv.symbolic", "Y")
        entries = [e for n in range(x_shape[0]) for e in T * vec(ys[n])]
        return sympy.ImmutableDenseNDimArray(entries, out_shape)

    return dict(
        numeric=lambda x, w: numeric(x, w, **kw), symbolic=matrix_form,
        a_shape=x_shape, b_shape=w_shape, a_name="y", b_name="w",
        reference=lambda y, w: conv_transpose(y, w, **kw),
        compared_with="the symbolic matrix (conv_transpose_matrix)",
        reference_label="the scatter sum", cache_key=_key(("conv_transpose", x_shape), kw),
        statement="the numeric conv_transpose equals its scatter definition",
        latex=r"y[q] = \sum_{i s + t d = q + lo} x[i]\, w[t]",
    )


def _signal(kind):
    reference = convolve if kind == "convolve" else correlate

    def spec(numeric, a_shape, b_shape, kw):
        mode, axes = kw.get("mode", "full"), kw.get("axes")
        symbolic = lambda A, B: reference(A, B, mode, axes=axes)  # noqa: E731
        matrix = kind == "convolve" and axes is None
        if matrix:  # probe against the Toeplitz/circulant matrix
            out = reference(np.zeros(a_shape, np.int64), np.zeros(b_shape, np.int64), mode).shape

            def symbolic(A, B):
                T = convolve_matrix(B, a_shape, mode)
                return sympy.ImmutableDenseNDimArray(list(T * vec(A)), out)
        return dict(
            numeric=lambda a, b: numeric(a, b, mode, axes=axes), symbolic=symbolic,
            a_shape=a_shape, b_shape=b_shape, reference=lambda a, b: reference(a, b, mode, axes=axes),
            compared_with="the symbolic matrix (convolve_matrix)" if matrix else "the defining sum",
            reference_label="the defining sum",
            cache_key=(kind, mode, _freeze(axes), a_shape, b_shape),
            statement=f"the numeric {kind}(mode={mode!r}) equals its defining sum",
            latex=(r"(a * b)[k] = \sum_j a[k-j]\, b[j]" if kind == "convolve"
                   else r"(a \star b)[k] = \sum_j a[k-(m-1)+j]\, \overline{b[j]}"),
            name_suffix=f" {mode}",
        )

    return spec


def _input_grad(numeric, x_shape, w_shape, kw):
    return dict(
        numeric=lambda ct, w: numeric(ct, w, x_shape, **kw),
        symbolic=input_grad_symbolic(x_shape, **kw),
        a_shape=conv_output_shape(x_shape, w_shape, **kw), b_shape=w_shape,
        a_name="dy", b_name="w", cache_key=_key(("input_grad", x_shape), kw),
        compared_with="M(w)^T", statement="conv_input_grad(dy, w) = M(w)^T dy",
        latex=r"\nabla_x L = M(w)^{\mathsf T}\, \nabla_y L",
    )


def _kernel_grad(numeric, x_shape, w_shape, kw):
    return dict(
        numeric=lambda x, ct: numeric(x, ct, w_shape, **kw),
        symbolic=kernel_grad_symbolic(w_shape, **kw),
        a_shape=x_shape, b_shape=conv_output_shape(x_shape, w_shape, **kw),
        a_name="x", b_name="dy", cache_key=_key(("kernel_grad", w_shape), kw),
        compared_with="A(x)^T", statement="conv_kernel_grad(x, dy) = A(x)^T dy",
        latex=r"\nabla_w L = A(x)^{\mathsf T}\, \nabla_y L",
    )


def _transpose_adjoint(numeric, x_shape, w_shape, kw):
    tkw = matching_transpose_kwargs(x_shape, w_shape, **kw)
    return dict(
        _input_grad(lambda y, w, _shape, **_: numeric(y, w, **tkw), x_shape, w_shape, kw),
        statement="conv_transpose(y, w) = M(w)^T y for the matching conv",
        latex=r"\mathrm{conv\_transpose}(y, w) = M(w)^{\mathsf T} y",
    )


def _vjp(numeric, x_shape, w_shape, kw):
    import jax
    import jax.numpy as jnp

    def vjp_x(ct, w, _shape, **_):
        return jax.vjp(lambda x: numeric(x, w, **kw), jnp.zeros(x_shape, ct.dtype))[1](ct)[0]

    def vjp_w(x, ct, _shape, **_):
        return jax.vjp(lambda w: numeric(x, w, **kw), jnp.zeros(w_shape, ct.dtype))[1](ct)[0]

    return [dict(_input_grad(vjp_x, x_shape, w_shape, kw), statement="vjp_x = M^T",
                 name_suffix=" in x"),
            dict(_kernel_grad(vjp_w, x_shape, w_shape, kw), statement="vjp_w = A^T",
                 name_suffix=" in w")]


class Operator(NamedTuple):
    """One entry of `OPERATORS`."""

    function: str
    """The `jconv` function checked by default."""
    algorithm_keyword: str
    """Its keyword that forces an algorithm."""
    spec: Callable
    """``(numeric, a_shape, b_shape, kwargs) ->`` the `check_bilinear_operator` arguments
    (a list of them for a combined check)."""
    title: str
    """The name of the results."""


OPERATORS = {
    "conv": Operator("conv", "algorithm", _conv, "conv"),
    "conv_transpose": Operator("conv_transpose", "algorithm", _conv_transpose, "conv_transpose"),
    "convolve": Operator("convolve", "method", _signal("convolve"), "convolve"),
    "correlate": Operator("correlate", "method", _signal("correlate"), "correlate"),
    "input_grad": Operator("conv_input_grad", "algorithm", _input_grad, "input VJP = M^T"),
    "kernel_grad": Operator("conv_kernel_grad", "algorithm", _kernel_grad, "kernel VJP = A^T"),
    "transpose_adjoint": Operator("conv_transpose", "algorithm", _transpose_adjoint,
                                  "conv_transpose = M^T"),
    "vjp": Operator("conv", "algorithm", _vjp, "jax.vjp of conv"),
}
"""The operators `check_operator` probes: the function, its shapes, and the symbolic form."""


def check_operator(
    operator: str, a_shape, b_shape, *, numeric=None, algorithm: str = "auto",
    integer: bool = False, bias: bool = False, **kwargs,
) -> CheckResult:
    r"""A numeric operator equals its symbolic definition, completely, at one shape.

    $$f(a, b)[o] = \sum_{i,j} C[o, i, j]\, a_i b_j$$

    with ``C`` read off the symbolic form and recovered from ``f`` by one-hot probing,
    plus integer data against the defining sum and bilinearity
    (`check_bilinear_operator`). The operators (`OPERATORS`):

    | ``operator`` | numeric call (default: the `jconv` function) | compared with |
    |---|---|---|
    | ``"conv"`` | ``f(x, w, [bias,] **kwargs)`` | ``M(w)`` per sample, the defining sum |
    | ``"conv_transpose"`` | ``f(y, w, **kwargs)`` | `conv_transpose_matrix`, the scatter sum |
    | ``"convolve"``, ``"correlate"`` | ``f(a, b, mode, axes=axes)`` | `convolve_matrix`, the sum |
    | ``"input_grad"`` | ``f(dy, w, x_shape, **kwargs)`` | ``M(w)^T`` |
    | ``"kernel_grad"`` | ``f(x, dy, w_shape, **kwargs)`` | ``A(x)^T`` |
    | ``"transpose_adjoint"`` | ``f(y, w, **matching_transpose_kwargs)`` | ``M(w)^T`` |
    | ``"vjp"`` | ``jax.vjp`` of ``f(x, w, **kwargs)`` in each argument | ``M(w)^T``, ``A(x)^T`` |

    ``a_shape, b_shape`` are the operand shapes of ``conv``, ``conv_transpose``,
    ``convolve`` and ``correlate``, and the forward ``(x, w)`` shapes for the others.

    Args:
        operator: a key of `OPERATORS`.
        a_shape, b_shape: see above.
        numeric: the function checked (default: jconv's, with ``algorithm`` forced).
        algorithm: the algorithm (``method`` for the signal functions) forced on the default.
        integer: also require exact int64 results.
        bias: ``"conv"`` only: also check ``f(x, w, b) - f(x, w) = b`` per output channel.
        **kwargs: the operator's keyword arguments (``mode``, ``axes`` for the signal ones).

    Returns:
        A `CheckResult` (skipped when the algorithm refuses the configuration).

    Example:
        >>> check_operator("conv", (1, 2, 5), (4, 1, 3), groups=2, padding=1).holds
        True
        >>> check_operator("convolve", (5,), (3,), mode="same").holds
        True
    """
    if operator not in OPERATORS:
        raise ValueError(f"jconv.symbolic.check_operator: operator must be one of "
                         f"{sorted(OPERATORS)}, got {operator!r}")
    fn_name, alg_kw, spec, title = OPERATORS[operator]  # an Operator
    label = algorithm if numeric is None else getattr(numeric, "__name__", "custom")
    if numeric is None:
        numeric = functools.partial(getattr(_jconv(), fn_name), **{alg_kw: algorithm})
    specs = spec(numeric, tuple(a_shape), tuple(b_shape), kwargs)

    def run(d):
        d = dict(d)
        suffix = d.pop("name_suffix", "")
        if operator == "vjp":
            d["name"] = f"jax.vjp{suffix} [{label}]"
        else:
            d["name"] = f"{title}{suffix} [{label}]"
        return check_bilinear_operator(d.pop("numeric"), d.pop("symbolic"), d.pop("a_shape"),
                                       d.pop("b_shape"), integer=integer, **d)

    if isinstance(specs, list):
        return combine(
            f"{title} [{label}]",
            "reverse-mode differentiation of conv gives M^T (in x) and A^T (in w)",
            [run(d) for d in specs],
            latex=r"\mathrm{vjp}_x = M(w)^{\mathsf T},\ \mathrm{vjp}_w = A(x)^{\mathsf T}",
        )
    result = run(specs)
    if not bias or not result:
        return result
    return _check_bias(result, numeric, tuple(a_shape), tuple(b_shape), kwargs)


def _check_bias(result, numeric, x_shape, w_shape, conv_kwargs):
    """``f(x, w, b) - f(x, w) = b`` per output channel, on integer data."""
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
