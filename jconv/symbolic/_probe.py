r"""The operator probe: a numeric operator against its symbolic matrix, completely.

A bilinear map ``f(a, b)`` is determined by its coefficients
``f(a, b)[o] = sum_{i, j} C[o, i, j] a[i] b[j]``. Evaluating ``f`` on one-hot
``a = e_i`` and ``b = e_j`` (entries 0 and 1, exact in floating point) returns the
column ``C[:, i, j]``; doing so for every ``(i, j)`` recovers ``C`` entry by entry. If
``f`` is also verified bilinear (on random integers) the recovered ``C`` *is* ``f``,
so equality with the coefficients of the symbolic expression is a complete check at
that shape, not a sample (`check_bilinear_operator`).

`check_operator` looks the operator up in `OPERATORS` (which jconv function, and how to
build its symbolic form and reference) and probes it with `check_bilinear_operator`.
The numeric function is an argument (default: the `jconv` function, with ``algorithm=``
forcing one algorithm), so a deliberately wrong function can be passed in to see the
check fail. Everything runs in float64 with ``jax_enable_x64`` on.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import sympy

from ._matrix import conv_matrix, conv_transpose_matrix, convolve_matrix, kernel_matrix, vec
from ._reference import (
    as_object_array,
    conv,
    conv_output_shape,
    conv_transpose,
    convolve,
    correlate,
    matching_transpose_kwargs,
    symbols,
)
from ._result import CheckResult, Timer, combine, verified_for

# ---------------------------------------------------------------------------------------
# Any bilinear function: one-hot probing
# ---------------------------------------------------------------------------------------


ROUNDING = 1e-9
"""Largest error accepted (and reported) on one-hot probes whose exact values are small
integers: it separates floating-point rounding (algorithms such as FFT or Winograd are
not bit-exact) from any logical error, which moves a result by at least 1."""


def _refused(exc: BaseException) -> bool:
    """True for the `jconv.AlgorithmRefused` of a forced algorithm that cannot run a spec."""
    from jconv import AlgorithmRefused

    return isinstance(exc, AlgorithmRefused)


def coefficients(exprs, a_syms, b_syms):
    """COO coefficients of bilinear expressions: arrays (out, i, j, coef).

    Raises ValueError when a term is not a product of one ``a`` and one ``b`` symbol
    times a rational number.
    """
    a_index = {s: k for k, s in enumerate(a_syms)}
    b_index = {s: k for k, s in enumerate(b_syms)}
    out, ia, ib, coef = [], [], [], []

    def split(term):
        c, factors = term.as_coeff_mul()
        if len(factors) == 1 and factors[0].is_Pow and factors[0].exp == 2:
            factors = (factors[0].base, factors[0].base)
        if len(factors) != 2 or not c.is_Rational:
            return None
        if factors[0] in a_index and factors[1] in b_index:
            return c, a_index[factors[0]], b_index[factors[1]]
        if factors[1] in a_index and factors[0] in b_index:
            return c, a_index[factors[1]], b_index[factors[0]]
        return None

    for o, expr in enumerate(exprs):
        if expr == 0:
            continue
        parts = [split(t) for t in sympy.Add.make_args(expr)]
        if any(p is None for p in parts):  # not in expanded form: expand once
            parts = [split(t) for t in sympy.Add.make_args(sympy.expand(expr))]
        for part in parts:
            if part is None:
                raise ValueError(
                    f"jconv.symbolic: the symbolic form is not bilinear: output {o} is {expr}"
                )
            c, i, j = part
            out.append(o)
            ia.append(i)
            ib.append(j)
            coef.append(sympy.Rational(c))
    order = np.argsort(np.asarray(ib, dtype=np.int64), kind="stable")
    as_array = lambda v, dt: np.asarray(v, dtype=dt)[order]  # noqa: E731
    return (
        as_array(out, np.int64), as_array(ia, np.int64), as_array(ib, np.int64),
        np.asarray(coef, dtype=object)[order] if coef else np.zeros(0, object),
    )


def _evaluate(coo, a, b, n_out):
    """Exact value of the bilinear form on integer vectors (Python ints / Rationals)."""
    out, ia, ib, coef = coo
    y = [sympy.S.Zero] * n_out if any(not c.is_Integer for c in coef) else [0] * n_out
    for o, i, j, c in zip(out, ia, ib, coef):
        y[o] += (int(c) if c.is_Integer else c) * int(a[i]) * int(b[j])
    return np.array([float(v) for v in y])


@contextlib.contextmanager
def _x64():
    import jax

    with jax.enable_x64(True):
        yield


class BilinearForm:
    r"""A symbolic bilinear form read off once: output shape, symbols and coefficients.

    $$f(a, b)[o] = \sum_{i, j} C[o, i, j]\, a_i b_j$$

    Built from ``symbolic(A, B)`` on symbol arrays of the given shapes; ``coo`` holds
    the nonzero ``C[o, i, j]`` (sorted by ``j``). Reusable across many numeric functions
    (e.g. every algorithm) without recomputing the symbolic side.

    Equivalent to the Hessian of ``symbolic`` in its two arguments, kept sparse.

    Args:
        symbolic: ``symbolic(A, B) -> SymPy array`` bilinear in the symbol arrays.
        a_shape, b_shape: the argument shapes.
        a_name, b_name: symbol prefixes.

    Raises:
        ValueError: the result is not bilinear.

    Example:
        >>> from jconv.symbolic import convolve
        >>> form = BilinearForm(lambda A, B: convolve(A, B), (3,), (2,))
        >>> form.out_shape, form.evaluate([1, 2, 3], [1, 1]).tolist()
        ((4,), [1.0, 3.0, 5.0, 3.0])
    """

    def __init__(self, symbolic, a_shape, b_shape, a_name="a", b_name="b"):
        self.a_shape, self.b_shape = tuple(a_shape), tuple(b_shape)
        self.a_name, self.b_name = a_name, b_name
        A, B = symbols(a_name, self.a_shape), symbols(b_name, self.b_shape)
        S = as_object_array(symbolic(A, B), "check", "symbolic result")
        self.out_shape = S.shape
        self.a_syms = list(as_object_array(A, "check", "A").reshape(-1))
        self.b_syms = list(as_object_array(B, "check", "B").reshape(-1))
        self.coo = coefficients(list(S.reshape(-1)), self.a_syms, self.b_syms)
        self.n_out = int(np.prod(self.out_shape, dtype=np.int64))

    def evaluate(self, a, b) -> np.ndarray:
        """The exact value on integer vectors, as float64."""
        return _evaluate(self.coo, a, b, self.n_out)


_FORMS: dict = {}


def bilinear_form(key, symbolic, a_shape, b_shape, a_name="a", b_name="b") -> BilinearForm:
    """`BilinearForm`, cached under ``key`` (None: not cached)."""
    if key is None:
        return BilinearForm(symbolic, a_shape, b_shape, a_name, b_name)
    key = (key, tuple(a_shape), tuple(b_shape), a_name, b_name)
    if key not in _FORMS:
        _FORMS[key] = BilinearForm(symbolic, a_shape, b_shape, a_name, b_name)
    return _FORMS[key]


def _fmt_index(index) -> str:
    return "(" + ", ".join(str(int(i)) for i in index) + ")"


def check_bilinear_operator(
    numeric,
    symbolic,
    a_shape,
    b_shape,
    *,
    name: str,
    statement: str,
    latex: str = "",
    a_name: str = "a",
    b_name: str = "b",
    exact: bool = False,
    integer: bool = False,
    seed: int = 0,
    cache_key=None,
    reference=None,
    compared_with: str = "the symbolic form",
    reference_label: str = "the reference",
) -> CheckResult:
    r"""Check a numeric bilinear function against a symbolic one, completely, at one shape.

    $$f(a, b)[o] = \sum_{i,j} C[o, i, j]\, a_i b_j \quad\text{with } C \text{ read off the
      symbolic expression and recovered from } f(e_i, e_j)$$

    Three parts, all in float64 (``jax_enable_x64`` is switched on for the duration):
    (a) agreement on random integer data with the symbolic result evaluated exactly;
    (b) bilinearity of ``numeric`` on random integers
    (``f(3 a + 2 a', b) = 3 f(a, b) + 2 f(a', b)`` and likewise in ``b``);
    (c) one-hot probing: ``numeric(e_i, e_j)`` for every pair (vmapped over ``i``)
    compared entry by entry with the symbolic coefficients. With ``integer=True``,
    also (d): on int64 data the result must be the exact integer one (noted, not
    failed, when the function refuses integer operands).

    Errors below `ROUNDING` on 0/1 probes are reported (and fail only with
    ``exact=True``): algorithms such as FFT are not bit-exact, while a logical error
    moves some probe by a whole number.

    Equivalent to comparing ``jax.jacfwd`` in both arguments with the symbolic
    Jacobian, for a function verified to be bilinear.

    Args:
        numeric: ``numeric(a, b) -> array``, JAX-traceable (vmap batches the one-hot
            probes; a function that cannot be traced is probed one call at a time).
        symbolic: ``symbolic(A, B) -> SymPy array`` of expressions bilinear in the
            symbol arrays ``A``, ``B`` (or a prepared `BilinearForm`).
        a_shape, b_shape: the argument shapes.
        name, statement, latex: what the result reports.
        a_name, b_name: symbol prefixes.
        exact: require bit-exact agreement.
        integer: also run (d).
        seed: the seed of the random integers.
        cache_key: a hashable key under which the symbolic form is cached (reuse it
            when checking many numeric functions against one symbolic form).
        reference: optional ``reference(a, b) -> array`` evaluated exactly on the
            integer data of (a) instead of ``symbolic`` (e.g. the defining sum, when
            ``symbolic`` is the matrix form), so that (a) and (c) compare against two
            independent symbolic constructions.
        compared_with, reference_label: how the details name the symbolic form and
            the reference.

    Returns:
        A `CheckResult`; ``holds`` is None (skipped) when ``numeric`` raises the
        ValueError of a forced algorithm that refuses the configuration.

    Raises:
        ValueError: ``symbolic`` does not return a bilinear form.

    Example:
        >>> import jax.numpy as jnp
        >>> from jconv.symbolic import convolve
        >>> r = check_bilinear_operator(
        ...     lambda a, b: jnp.convolve(a, b), lambda A, B: convolve(A, B), (3,), (2,),
        ...     name="np.convolve", statement="jnp.convolve is the full convolution")
        >>> r.holds
        True
    """
    import jax
    import jax.numpy as jnp

    a_shape, b_shape = tuple(a_shape), tuple(b_shape)
    scope = verified_for(f"{a_name} {a_shape}, {b_name} {b_shape}")
    with Timer() as timer, _x64():
        form = symbolic if isinstance(symbolic, BilinearForm) else bilinear_form(
            cache_key, symbolic, a_shape, b_shape, a_name, b_name
        )
        out_shape, n_out = form.out_shape, form.n_out
        n_a, n_b = len(form.a_syms), len(form.b_syms)
        rng = np.random.default_rng(seed)
        a1, a2 = rng.integers(-9, 10, (2, n_a)).astype(np.float64)
        b1, b2 = rng.integers(-9, 10, (2, n_b)).astype(np.float64)

        def call(a, b):
            return numeric(jnp.reshape(a, a_shape), jnp.reshape(b, b_shape))

        def skipped_or_failed(e):
            if _refused(e):
                return CheckResult(name, statement, None, scope, f"skipped: {e}",
                                   timer.now, latex)
            return CheckResult(name, statement, False, scope,
                               f"the numeric function raised {type(e).__name__}: {e}",
                               timer.now, latex)

        notes, failures = [], []
        rows = max(n_a, 3)  # one batch size for every call: a single compilation

        def padded(stack):
            return np.concatenate([stack, np.zeros((rows - len(stack), n_a))])

        try:
            jitted = jax.jit(jax.vmap(call, in_axes=(0, None)))
            first = np.asarray(jitted(padded(np.stack([a1, 3 * a1 + 2 * a2, a2])), b1))

            def batched(ea, eb):
                return np.asarray(jitted(padded(ea), eb))[: len(ea)]
        except Exception as e:  # noqa: BLE001 - refusal: skip; else: probe one by one
            if _refused(e):
                return skipped_or_failed(e)
            notes.append(f"probed one call at a time ({type(e).__name__} under vmap)")

            def batched(ea, eb):
                return np.stack([np.asarray(call(row, eb)) for row in ea])
            try:
                first = batched(np.stack([a1, 3 * a1 + 2 * a2, a2]), b1)
            except Exception as e2:  # noqa: BLE001
                return skipped_or_failed(e2)
        first = first[:3]
        if first.shape[1:] != out_shape:
            return CheckResult(
                name, statement, False, scope,
                f"output shape {first.shape[1:]} differs from the symbolic {out_shape}",
                timer.now, latex,
            )
        y, y_mix, y_a2 = (v.reshape(-1) for v in first)
        # (a) integer data against the symbolic result evaluated exactly
        if reference is None:
            ref = form.evaluate(a1, b1)
        else:
            values = reference(a1.astype(np.int64).reshape(a_shape),
                               b1.astype(np.int64).reshape(b_shape))
            ref = np.array([float(v) for v in as_object_array(values, "check", "reference")
                            .reshape(-1)])
            if ref.shape != (n_out,):
                return CheckResult(name, statement, False, scope,
                                   f"the reference has {ref.size} entries, the symbolic "
                                   f"form {n_out}", timer.now, latex)
        scale = max(float(np.max(np.abs(ref), initial=1.0)), 1.0)
        err_a = float(np.max(np.abs(y - ref), initial=0.0))
        if err_a > 100 * ROUNDING * scale or (exact and err_a):
            failures.append(f"integer data: max error {err_a:g} against the symbolic result")
        # (b) bilinearity on random integers
        more = batched(a1[None], 3 * b1 - 2 * b2).reshape(-1)
        y_b2 = batched(a1[None], b2).reshape(-1)
        err_b = float(max(
            np.max(np.abs(y_mix - 3 * y - 2 * y_a2), initial=0.0),
            np.max(np.abs(more - 3 * y + 2 * y_b2), initial=0.0),
        ))
        if err_b > 1000 * ROUNDING * scale or (exact and err_b):
            failures.append(f"bilinearity: max defect {err_b:g}")
        # (c) one-hot probing: vmapped over a's one-hots, one call per one-hot of b
        out, ia, ib, coef = form.coo
        coef_f = np.array([float(c) for c in coef])
        starts = np.searchsorted(ib, np.arange(n_b + 1))
        eye_a = np.eye(n_a)
        err_c, mismatches = 0.0, []
        for j in range(n_b):
            e_j = np.zeros(n_b)
            e_j[j] = 1.0
            got = batched(eye_a, e_j).reshape(n_a, n_out)
            expected = np.zeros((n_a, n_out))
            lo, hi = starts[j], starts[j + 1]
            np.add.at(expected, (ia[lo:hi], out[lo:hi]), coef_f[lo:hi])
            diff = np.abs(got - expected)
            worst = float(diff.max(initial=0.0))
            err_c = max(err_c, worst)
            if (worst > ROUNDING or (exact and worst)) and len(mismatches) < 3:
                for i, o in zip(*np.nonzero(diff > (0 if exact else ROUNDING))):
                    if len(mismatches) == 3:
                        break
                    mismatches.append(
                        f"coefficient of {form.a_syms[i]}*{form.b_syms[j]} in output "
                        f"{_fmt_index(np.unravel_index(o, out_shape))}: symbolic "
                        f"{expected[i, o]:g}, numeric {got[i, o]:g}"
                    )
        if mismatches:
            failures.append("one-hot probing: " + "; ".join(mismatches))
        # (d) integer operands must give the exact integer result
        if integer and not failures:
            try:
                yi = np.asarray(numeric(jnp.asarray(a1.reshape(a_shape), jnp.int64),
                                        jnp.asarray(b1.reshape(b_shape), jnp.int64)))
                if not np.array_equal(yi.reshape(-1), ref.astype(np.int64)):
                    failures.append("int64 operands: the result is not the exact integer one")
                else:
                    notes.append("int64 operands give the exact integer result")
            except Exception as e:  # noqa: BLE001
                if not _refused(e):
                    failures.append(f"int64 operands raised {type(e).__name__}: {e}")
                else:
                    notes.append("refuses int64 operands")
        worst = max(err_a, err_b, err_c)
        exactness = "bit-exact" if worst == 0 else f"within float64 rounding (max error {worst:.2g})"
    if failures:
        details = "; ".join(failures)
    else:
        details = (
            f"one-hot probing recovered the whole operator ({n_a} x {n_b} probes, "
            f"{len(coef)} nonzero coefficients), equal entry by entry to {compared_with}; "
            f"agrees on integer data with "
            f"{compared_with if reference is None else reference_label}, and is bilinear; "
            f"{exactness}"
            + ("; " + "; ".join(notes) if notes else "")
        )
    return CheckResult(name, statement, not failures, scope, details, timer.elapsed, latex)


# ---------------------------------------------------------------------------------------
# The operators of jconv: their symbolic forms and references
# ---------------------------------------------------------------------------------------


def _jconv():
    import jconv

    return jconv


def _freeze(v):
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(u) for u in v)
    return v


def _key(tag, kw):
    return (tag, tuple(sorted((k, _freeze(v)) for k, v in kw.items())))


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
    (`check_bilinear_operator`). The operators:

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
        operator: one of the names in the table above.
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
