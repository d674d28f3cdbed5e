r"""The laws of convolution, proved with symbolic sizes and checked exactly at given sizes.

``prove_*`` functions work with symbolic sizes (SymPy ``Sum`` objects over undefined
functions, integer size symbols) and return results with scope
``"all sizes (symbolic)"``; ``check_*`` functions compare the reference semantics (and
where stated, the numeric operator through the probe) exactly at given sizes. The
families, one section each: the algebraic laws, the convolution theorem, adjointness,
the layer as a matrix, and the output sizes. `jconv.symbolic.laws` lists them by family.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import sympy
from sympy import Add, Function, I, KroneckerDelta, Sum, exp, oo, pi
from sympy.simplify.simplify import factor_sum

from ._exact import Cyclotomic, first_difference, flat, group_ring_dft, group_ring_product
from ._matrix import (
    block_explicit,
    circulant,
    conv_block_matrix,
    conv_matrix,
    conv_transpose_matrix,
    group_block_matrix,
    kernel_matrix,
    shift_matrix,
    vec,
)
from ._reference import (
    as_object_array,
    conv,
    conv_out_size,
    conv_output_shape,
    conv_setup,
    conv_taps,
    convolve,
    correlate,
    matching_transpose_kwargs,
    signal_pairs,
    symbols,
    to_sympy_array,
    window,
)
from ._result import ALL_SIZES, CheckResult, Timer, verified_for

# ======================================================================================
# Algebraic laws: linearity, commutativity (and its failure for correlation), the flip
# identity, associativity, and the composition of two layers.
# ======================================================================================


def _split_sum(S: Sum):
    terms = Add.make_args(sympy.expand(S.function))
    return Add(*[factor_sum(Sum(term, *S.limits)) for term in terms])


def normalize_sums(expr):
    r"""Distribute every ``Sum`` over the terms of its summand and pull constants out.

    $$\sum_t (\alpha f_t + \beta g_t) \;\to\; \alpha \sum_t f_t + \beta \sum_t g_t$$

    The normal form used to compare sums of symbolic length: it uses only linearity
    of finite sums, repeatedly, through nested sums.

    Equivalent to ``Sum.expand()`` followed by ``sympy.simplify.simplify.factor_sum``
    on every term.

    Args:
        expr: a SymPy expression containing ``Sum`` objects.

    Returns:
        The normalised expression.

    Example:
        >>> import sympy
        >>> f, t, n, a = sympy.Function("f"), *sympy.symbols("t n a")
        >>> normalize_sums(sympy.Sum(a * f(t) + f(t), (t, 0, n)))
        a*Sum(f(t), (t, 0, n)) + Sum(f(t), (t, 0, n))
    """
    expr = sympy.expand(expr)
    previous = None
    while previous != expr:
        previous = expr
        expr = sympy.expand(expr.replace(lambda e: isinstance(e, Sum), _split_sum))
    return expr


def _count(array) -> int:
    return int(np.prod(array.shape))


def _describe(difference, A, B):
    if difference == -1:
        return "the shapes differ"
    flat_a = as_object_array(A, "", "").reshape(-1)
    flat_b = as_object_array(B, "", "").reshape(-1)
    return f"entry {difference}: {flat_a[difference]} != {flat_b[difference]}"


# ---------------------------------------------------------------------------------------
# Linearity
# ---------------------------------------------------------------------------------------


def prove_linearity() -> CheckResult:
    r"""A convolution layer is linear in the input and in the kernel, for all sizes.

    $$\mathrm{conv}(\alpha x + \beta u, w) = \alpha\, \mathrm{conv}(x, w) + \beta\,
      \mathrm{conv}(u, w)$$ and likewise in ``w``.

    Proof with symbolic sizes: the output entry is
    ``sum_c sum_t w(o, c, t) x(g C + c, phi(p s + t d))`` with ``C`` channels, ``K`` taps,
    stride ``s``, dilation ``d`` and an arbitrary padding index map ``phi`` (zeros,
    reflect, replicate and circular padding all only re-index); SymPy distributes the
    two nested ``Sum`` objects over the summand and the difference of both sides
    expands to zero. The N-d window is a nested sum of the same form. Bias makes the
    layer affine: ``conv(x, w) - b`` is the linear part.

    Equivalent to ``jax.linear_transpose`` being applicable to ``x -> conv(x, w)``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_linearity().holds
        True
    """
    with Timer() as timer:
        w, x, u, phi = (Function(n) for n in ("w", "x", "u", "phi"))
        o, c, p, t, C, K, s, d, g = sympy.symbols("o c p t C K s d g", integer=True)
        al, be = sympy.symbols("alpha beta")

        def y(xf, wf):
            return Sum(Sum(wf(o, c, t) * xf(g * C + c, phi(p * s + t * d)), (t, 0, K - 1)),
                       (c, 0, C - 1))

        def mix(f, h):
            return lambda *i: al * f(*i) + be * h(*i)

        in_x = normalize_sums(y(mix(x, u), w) - al * y(x, w) - be * y(u, w))
        in_w = normalize_sums(y(x, mix(w, u)) - al * y(x, w) - be * y(x, u))
        holds = in_x == 0 and in_w == 0
    return CheckResult(
        "linearity (all sizes)",
        "conv is linear in x and in w: conv(a x + b u, w) = a conv(x, w) + b conv(u, w), "
        "and likewise in w",
        holds, ALL_SIZES,
        "symbolic sizes C, K, s, d and an arbitrary padding map phi: y = "
        f"{y(x, w)}; distributing the Sums, both differences expand to "
        f"{in_x} and {in_w}",
        timer.elapsed,
        r"\mathrm{conv}(\alpha x+\beta u, w) = \alpha\,\mathrm{conv}(x,w)+\beta\,"
        r"\mathrm{conv}(u,w),\quad \mathrm{conv}(x, \alpha w+\beta v) = \alpha\,"
        r"\mathrm{conv}(x,w)+\beta\,\mathrm{conv}(x,v)",
    )


def check_linearity(x_shape, w_shape, *, op: str = "conv", **kwargs) -> CheckResult:
    r"""Linearity in each argument, exactly, at given sizes, with symbolic coefficients.

    $$f(\alpha x + \beta u, w) = \alpha f(x, w) + \beta f(u, w),\quad
      f(x, \alpha w + \beta v) = \alpha f(x, w) + \beta f(x, v)$$

    for ``f`` the symbolic `conv`, `conv_transpose` or `convolve`, with symbol arrays and
    symbolic scalars, compared as polynomials over ZZ.

    Equivalent to `prove_linearity` at one size, for every option (stride, padding
    modes, groups, ...).

    Args:
        x_shape, w_shape: operand shapes.
        op: ``"conv"``, ``"conv_transpose"`` or ``"convolve"``.
        **kwargs: the operation's arguments.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Raises:
        ValueError: an unknown ``op``.

    Example:
        >>> check_linearity((1, 2, 4), (2, 2, 3), padding=1, padding_mode="reflect").holds
        True
    """
    from ._reference import conv_transpose

    ops = {"conv": conv, "conv_transpose": conv_transpose, "convolve": convolve}
    if op not in ops:
        raise ValueError(f"jconv.symbolic.check_linearity: op must be one of "
                         f"{sorted(ops)}, got {op!r}")
    f = functools.partial(ops[op], **kwargs)
    with Timer() as timer:
        X, U = symbols("x", x_shape), symbols("u", x_shape)
        W, V = symbols("w", w_shape), symbols("v", w_shape)
        al, be = sympy.symbols("alpha beta", real=True)
        lhs_x = f(to_sympy_array(al * as_object_array(X, "", "") + be * as_object_array(U, "", "")), W)
        rhs_x = (al * as_object_array(f(X, W), "", "") + be * as_object_array(f(U, W), "", ""))
        lhs_w = f(X, to_sympy_array(al * as_object_array(W, "", "") + be * as_object_array(V, "", "")))
        rhs_w = (al * as_object_array(f(X, W), "", "") + be * as_object_array(f(X, V), "", ""))
        dx = first_difference(lhs_x, to_sympy_array(rhs_x))
        dw = first_difference(lhs_w, to_sympy_array(rhs_w))
        holds = dx is None and dw is None
        n_out = int(np.prod(lhs_x.shape))
    details = (f"all {n_out} outputs equal as polynomials over ZZ in both arguments"
               if holds else f"in x: {dx}, in w: {dw} (first differing entries)")
    return CheckResult(
        f"linearity of {op}", f"{op} is linear in each argument", holds,
        verified_for(f"x {tuple(x_shape)}, w {tuple(w_shape)}" +
                     "".join(f", {k}={v!r}" for k, v in kwargs.items())),
        details, timer.elapsed,
        r"f(\alpha x+\beta u, w) = \alpha f(x,w)+\beta f(u,w)",
    )


# ---------------------------------------------------------------------------------------
# Commutativity, and its failure for cross-correlation
# ---------------------------------------------------------------------------------------


def prove_commutativity() -> CheckResult:
    r"""Convolution is commutative, for all lengths: ``a * b = b * a``.

    $$(a * b)[m] = \sum_{i=0}^{m} a_i\, b_{m-i}
      \;\overset{i \to m - i}{=}\; \sum_{j=0}^{m} b_j\, a_{m-j} = (b * a)[m]$$

    for sequences supported on ``0, 1, ...`` (every finite length), and over ``Z``
    (``sum_i a(i) b(k - i)``, which covers each axis of the N-d case). SymPy's
    ``Sum.change_index`` performs the substitution; both results are structurally the
    other side.

    Equivalent to ``numpy.convolve(a, b) == numpy.convolve(b, a)`` for every input.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_commutativity().holds
        True
    """
    with Timer() as timer:
        a, b = Function("a"), Function("b")
        i, j, m, k = sympy.symbols("i j m k", integer=True)
        finite = Sum(a(i) * b(m - i), (i, 0, m)).change_index(i, m - i, j)
        ok_finite = finite == Sum(b(j) * a(m - j), (j, 0, m))
        over_z = Sum(a(i) * b(k - i), (i, -oo, oo)).change_index(i, k - i, j)
        ok_z = over_z == Sum(b(j) * a(k - j), (j, -oo, oo))
    return CheckResult(
        "commutativity (all sizes)", "convolution is commutative: a * b = b * a",
        ok_finite and ok_z, ALL_SIZES,
        f"Sum(a(i) b(m-i), (i, 0, m)) with i -> m - i becomes {finite}; over Z: {over_z}",
        timer.elapsed, r"(a * b)[m] = \sum_{i} a_i b_{m-i} = \sum_j b_j a_{m-j} = (b * a)[m]",
    )


def check_commutativity(a_shape, b_shape=None, mode: str = "full") -> CheckResult:
    r"""``convolve(a, b) == convolve(b, a)`` exactly, on symbol arrays of given shapes.

    $$a * b = b * a$$

    for ``mode="full"`` (any shapes, N-d) and ``mode="circular"`` (equal shapes; the
    period is the length of ``a``). ``"same"`` and ``"valid"`` crop relative to the
    first operand, so they are commutative only for equal shapes.

    Equivalent to `prove_commutativity` at one size.

    Args:
        a_shape, b_shape: operand shapes (``b_shape`` defaults to ``a_shape``).
        mode: ``"full"`` or ``"circular"`` (or ``"same"``/``"valid"`` with equal shapes).

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Raises:
        ValueError: circular/same/valid with different shapes.

    Example:
        >>> check_commutativity((3, 4), (2, 2)).holds
        True
    """
    b_shape = tuple(a_shape) if b_shape is None else tuple(b_shape)
    if mode != "full" and tuple(a_shape) != b_shape:
        raise ValueError(
            f"jconv.symbolic.check_commutativity: mode={mode!r} needs equal shapes, got "
            f"{tuple(a_shape)} and {b_shape}"
        )
    with Timer() as timer:
        A, B = symbols("a", a_shape), symbols("b", b_shape)
        ab, ba = convolve(A, B, mode), convolve(B, A, mode)
        diff = first_difference(ab, ba)
    return CheckResult(
        f"commutativity ({mode})", f"convolve(a, b, {mode!r}) == convolve(b, a, {mode!r})",
        diff is None, verified_for(f"a {tuple(a_shape)}, b {b_shape}"),
        f"all {_count(ab)} entries equal as polynomials" if diff is None
        else _describe(diff, ab, ba),
        timer.elapsed, r"a * b = b * a",
    )


def check_correlation_not_commutative(a_shape=(3,), b_shape=(2,)) -> CheckResult:
    r"""Cross-correlation is *not* commutative; reversing and conjugating relates the orders.

    $$a \star b \ne b \star a \text{ in general}, \qquad
      (a \star b)[k] = \overline{(b \star a)[n + m - 2 - k]}$$

    Exact on complex symbol arrays (``mode="full"``): the first differing entry of
    ``a ⋆ b`` and ``b ⋆ a`` is the witness that the law fails (a single counterexample
    disproves it for all sizes), and the reversal identity is checked entry by entry.

    Equivalent to ``scipy.signal.correlate(a, b) == scipy.signal.correlate(b, a)[::-1].conj()``.

    Args:
        a_shape, b_shape: 1-D shapes (lengths ``n``, ``m``).

    Returns:
        A `CheckResult`: holds when the orders differ *and* the reversal identity holds.

    Example:
        >>> check_correlation_not_commutative().holds
        True
    """
    with Timer() as timer:
        A = symbols("a", a_shape, complex=True)
        B = symbols("b", b_shape, complex=True)
        ab = correlate(A, B)
        ba = correlate(B, A)
        witness = first_difference(ab, ba)
        reversed_conj = np.frompyfunc(sympy.conjugate, 1, 1)(
            as_object_array(ba, "", "")[tuple(slice(None, None, -1) for _ in a_shape)])
        relation = first_difference(ab, to_sympy_array(reversed_conj))
        holds = witness is not None and relation is None
    flat_ab = as_object_array(ab, "", "").reshape(-1)
    flat_ba = as_object_array(ba, "", "").reshape(-1)
    details = (
        (f"witness: entry {witness} is {flat_ab[witness]} for a*b but {flat_ba[witness]} "
         f"for b*a" if witness not in (None, -1) else "no difference found (!)")
        + ("; the reversed conjugate of b*a equals a*b entry by entry" if relation is None
           else f"; the reversal identity fails at entry {relation}")
    )
    return CheckResult(
        "correlation is not commutative",
        "correlate(a, b) != correlate(b, a), but correlate(a, b) = reverse(conj(correlate(b, a)))",
        holds, verified_for(f"a {tuple(a_shape)}, b {tuple(b_shape)} (one counterexample "
                            f"suffices)"),
        details, timer.elapsed,
        r"a \star b \neq b \star a,\quad (a\star b)[k] = \overline{(b \star a)[n+m-2-k]}",
    )


def prove_flip_identity() -> CheckResult:
    r"""Correlation is convolution with the conjugated, flipped kernel, for all lengths.

    $$(a \star b)[k] = \sum_{j=0}^{m-1} a[k-(m-1)+j]\, \overline{b[j]}
      = \sum_{j=0}^{m-1} a[k-j]\, \overline{b[m-1-j]} = (a * \overline{b}^{\leftarrow})[k]$$

    and, for the circular modes (``a`` of period ``n``), the convolution with the
    flipped kernel lags by ``m - 1``:
    ``convolve(a, conj(flip b), "circular")[k] = correlate(a, b, "circular")[k - (m - 1)]``.
    SymPy's ``change_index`` (``j -> m - 1 - j``) turns one sum into the other.

    Equivalent to ``scipy.signal.correlate(a, b) == scipy.signal.convolve(a, b[::-1].conj())``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_flip_identity().holds
        True
    """
    with Timer() as timer:
        a, b = Function("a"), Function("b")
        j, k, m, n = sympy.symbols("j k m n", integer=True)
        corr = Sum(a(k - (m - 1) + j) * sympy.conjugate(b(j)), (j, 0, m - 1))
        conv_flipped = Sum(a(k - j) * sympy.conjugate(b(m - 1 - j)), (j, 0, m - 1))
        linear = conv_flipped.change_index(j, m - 1 - j, j)
        circ_conv = Sum(a(sympy.Mod(k - j, n)) * sympy.conjugate(b(m - 1 - j)), (j, 0, m - 1))
        circ_corr_lagged = Sum(a(sympy.Mod(k - (m - 1) + j, n)) * sympy.conjugate(b(j)),
                               (j, 0, m - 1))
        circular = circ_conv.change_index(j, m - 1 - j, j)
        holds = linear == corr and circular == circ_corr_lagged
    return CheckResult(
        "flip identity (all sizes)",
        "correlate(a, b) = convolve(a, conj(flip(b))) (circular: lagged by m - 1)",
        holds, ALL_SIZES,
        f"j -> m - 1 - j maps {conv_flipped} to {linear}, which is the correlation sum; "
        f"circular: {circular}",
        timer.elapsed, r"a \star b = a * \overline{b}^{\leftarrow}",
    )


def check_flip_identity(a_shape, b_shape, mode: str = "full") -> CheckResult:
    r"""``correlate(a, b, mode) == convolve(a, conj(flip(b)), mode)`` exactly, any rank.

    $$a \star b = a * \overline{b}^{\leftarrow}
      \quad(\text{circular: rolled by } m - 1)$$

    with complex symbols, so the conjugation is tested too; ``flip`` reverses every axis.

    Equivalent to `prove_flip_identity` at one size, for each mode.

    Args:
        a_shape, b_shape: operand shapes (equal rank).
        mode: ``"full"``, ``"same"``, ``"valid"`` or ``"circular"``.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_flip_identity((5,), (3,), "same").holds
        True
    """
    with Timer() as timer:
        A = symbols("a", a_shape, complex=True)
        B = symbols("b", b_shape, complex=True)
        flipped = np.frompyfunc(sympy.conjugate, 1, 1)(
            as_object_array(B, "", "")[tuple(slice(None, None, -1) for _ in b_shape)])
        lhs = correlate(A, B, mode)
        rhs = as_object_array(convolve(A, to_sympy_array(flipped), mode), "", "")
        if mode == "circular":
            rhs = np.roll(rhs, tuple(1 - m for m in b_shape), tuple(range(len(b_shape))))
        diff = first_difference(lhs, to_sympy_array(rhs))
    return CheckResult(
        f"flip identity ({mode})",
        f"correlate(a, b, {mode!r}) = convolve(a, conj(flip(b)), {mode!r})"
        + (" rolled by m - 1" if mode == "circular" else ""),
        diff is None, verified_for(f"a {tuple(a_shape)}, b {tuple(b_shape)}"),
        "all entries equal as polynomials (complex symbols)" if diff is None
        else _describe(diff, lhs, to_sympy_array(rhs)),
        timer.elapsed, r"a \star b = a * \overline{b}^{\leftarrow}",
    )


# ---------------------------------------------------------------------------------------
# Associativity and composition
# ---------------------------------------------------------------------------------------


def prove_associativity() -> CheckResult:
    r"""Convolution is associative, for all (finitely supported) sequences.

    $$((a * b) * c)[k] = \sum_i \sum_j a_j b_{i-j} c_{k-i}
      \;\overset{\text{swap},\ i = l + j}{=}\; \sum_j a_j \sum_l b_l c_{k-j-l}
      = (a * (b * c))[k]$$

    Sums over ``Z`` of finitely supported sequences (so every sum is finite and may be
    reordered); SymPy's ``reorder`` swaps the independent limits and ``change_index``
    substitutes ``i = l + j``; the result is structurally the right-hand side. (Equally:
    full convolution of coefficient lists is polynomial multiplication, which is
    associative.)

    Equivalent to ``numpy.convolve(numpy.convolve(a, b), c) == numpy.convolve(a,
    numpy.convolve(b, c))`` for every input.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_associativity().holds
        True
    """
    with Timer() as timer:
        a, b, c = Function("a"), Function("b"), Function("c")
        i, j, k, l_ = sympy.symbols("i j k l", integer=True)
        lhs = Sum(a(j) * b(i - j) * c(k - i), (j, -oo, oo), (i, -oo, oo))
        swapped = lhs.reorder((i, j))
        substituted = swapped.change_index(i, i - j, l_)
        rhs = Sum(a(j) * b(l_) * c(k - j - l_), (l_, -oo, oo), (j, -oo, oo))
        holds = substituted == rhs
    return CheckResult(
        "associativity (all sizes)", "convolution is associative: (a * b) * c = a * (b * c)",
        holds, ALL_SIZES,
        f"(a*b)*c = {lhs}; swapping the sums and i = l + j gives {substituted} = a*(b*c)",
        timer.elapsed, r"(a * b) * c = a * (b * c)",
    )


def check_associativity(a_shape, b_shape, c_shape, mode: str = "full") -> CheckResult:
    r"""``(a * b) * c == a * (b * c)`` exactly on symbol arrays (full or circular).

    $$(a * b) * c = a * (b * c)$$

    ``"full"``: any shapes of equal rank. ``"circular"``: equal shapes (one period).

    Equivalent to `prove_associativity` at one size.

    Args:
        a_shape, b_shape, c_shape: operand shapes.
        mode: ``"full"`` or ``"circular"``.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Raises:
        ValueError: another mode, or unequal shapes for circular.

    Example:
        >>> check_associativity((3,), (2,), (4,)).holds
        True
    """
    fn = "jconv.symbolic.check_associativity"
    if mode not in ("full", "circular"):
        raise ValueError(f"{fn}: mode must be 'full' or 'circular', got {mode!r}")
    if mode == "circular" and not (tuple(a_shape) == tuple(b_shape) == tuple(c_shape)):
        raise ValueError(f"{fn}: mode='circular' needs equal shapes, got {a_shape}, "
                         f"{b_shape}, {c_shape}")
    with Timer() as timer:
        A, B, C = symbols("a", a_shape), symbols("b", b_shape), symbols("c", c_shape)
        lhs = convolve(convolve(A, B, mode), C, mode)
        rhs = convolve(A, convolve(B, C, mode), mode)
        diff = first_difference(lhs, rhs)
    return CheckResult(
        f"associativity ({mode})", f"(a * b) * c == a * (b * c) ({mode})", diff is None,
        verified_for(f"a {tuple(a_shape)}, b {tuple(b_shape)}, c {tuple(c_shape)}"),
        f"all {_count(lhs)} entries equal as polynomials over ZZ" if diff is None
        else _describe(diff, lhs, rhs),
        timer.elapsed, r"(a * b) * c = a * (b * c)",
    )


def composed_kernel(w1, w2):
    r"""The kernel of two stacked stride-1 ``"valid"`` convolution layers.

    $$K[o, c] = \sum_m w_2[o, m] * w_1[m, c] \quad(\text{full convolution of the spatial
      kernels})$$

    Args:
        w1: ``(M, C, *k1)``, the first layer's kernel.
        w2: ``(O, M, *k2)``, the second layer's kernel.

    Returns:
        A SymPy array ``(O, C, *(k1 + k2 - 1))``.

    Example:
        >>> composed_kernel(symbols("u", (1, 1, 2)), symbols("v", (1, 1, 2))).shape
        (1, 1, 3)
    """
    w1 = as_object_array(w1, "jconv.symbolic.composed_kernel", "w1")
    w2 = as_object_array(w2, "jconv.symbolic.composed_kernel", "w2")
    mid, c_in = w1.shape[:2]
    c_out = w2.shape[0]
    spatial = tuple(a + b - 1 for a, b in zip(w1.shape[2:], w2.shape[2:]))
    K = np.empty((c_out, c_in, *spatial), dtype=object)
    for o in range(c_out):
        for c in range(c_in):
            total = np.zeros(spatial, dtype=object)
            for m in range(mid):
                total = total + as_object_array(
                    convolve(to_sympy_array(w2[o, m]), to_sympy_array(w1[m, c])), "", "")
            K[o, c] = total
    return to_sympy_array(K)


def check_layer_composition(x_shape, w1_shape, w2_shape) -> CheckResult:
    r"""Two stacked stride-1 valid convolution layers are one layer with a composed kernel.

    $$\mathrm{conv}(\mathrm{conv}(x, w_1), w_2) = \mathrm{conv}(x, K),\quad
      K[o, c] = \sum_m w_2[o, m] * w_1[m, c]$$

    (``*`` the full convolution of the spatial kernels): cross-correlation is
    convolution with a flipped kernel, and convolution is associative, so the receptive
    field grows to ``k1 + k2 - 1``. Exact on symbol arrays.

    Equivalent to associativity (`prove_associativity`) read as layers.

    Args:
        x_shape: ``(N, C, *spatial)``.
        w1_shape: ``(M, C, *k1)``.
        w2_shape: ``(O, M, *k2)``.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_layer_composition((1, 1, 6), (2, 1, 3), (1, 2, 2)).holds
        True
    """
    with Timer() as timer:
        X = symbols("x", x_shape)
        W1, W2 = symbols("u", w1_shape), symbols("v", w2_shape)
        lhs = conv(conv(X, W1), W2)
        rhs = conv(X, composed_kernel(W1, W2))
        diff = first_difference(lhs, rhs)
    return CheckResult(
        "layer composition", "two stacked conv layers = one conv with the composed kernel",
        diff is None,
        verified_for(f"x {tuple(x_shape)}, w1 {tuple(w1_shape)}, w2 {tuple(w2_shape)}"),
        f"all {_count(lhs)} outputs equal as polynomials" if diff is None
        else _describe(diff, lhs, rhs),
        timer.elapsed,
        r"\mathrm{conv}(\mathrm{conv}(x,w_1),w_2) = \mathrm{conv}\big(x, \textstyle"
        r"\sum_m w_2[\cdot,m] * w_1[m,\cdot]\big)",
    )


# ---------------------------------------------------------------------------------------
# The same laws for a numeric function
# ---------------------------------------------------------------------------------------


# ======================================================================================
# The convolution theorem: the DFT diagonalises every circulant.
#
# With ``F[j, k] = w^(j k)``, ``w = exp(-2 pi i / n)`` and ``P`` the cyclic shift:
#
# 1. orthogonality: ``sum_m w^(m q) = n [q = 0]`` for ``|q| < n``, so ``F^-1 = conj(F) / n``;
# 2. ``F P F^-1 = diag(w^j)``;
# 3. every circulant is ``C(c) = sum_k c_k P^k``, hence ``F C(c) F^-1 = diag(F c)``;
# 4. ``a ⊛ b = C(b) a``, hence ``F (a ⊛ b) = (F a) ⊙ (F b)`` and
#    ``a ⊛ b = F^-1 (F a ⊙ F b)``; linear convolution is circular convolution after
#    zero-padding both operands to ``n + m - 1``.
#
# Exact arithmetic throughout: the cyclotomic field QQ(w) (DomainMatrix) or polynomials
# modulo ``x^n - 1``; ``simplify`` is not used (it fails to reduce ``F C F^-1`` for
# n = 3, 5, 6).
# ======================================================================================


def prove_convolution_theorem() -> CheckResult:
    r"""The DFT diagonalises the cyclic shift, hence every circulant, for every ``n``.

    $$\sum_{m=0}^{n-1} \omega^{m q} = n\,[\,\omega^{q} = 1\,],\qquad
      (F P F^{-1})_{jk} = \tfrac1n \sum_m \omega^{j(m+1)} \omega^{-m k}
      = \omega^{j} [j = k]$$

    SymPy sums the geometric series with symbolic ``n`` (a Piecewise: ``n`` when
    ``w^q = 1``, else 0), and shows the summand of ``(F P F^-1)_jk`` is ``w^j / n`` times
    the orthogonality summand with ``q = j - k``. For ``0 <= j, k < n``, ``w^(j-k) = 1``
    only when ``j = k``; the wrap-around term of ``P`` uses ``w^(j n) = 1`` (checked).
    Then ``C(c) = sum_k c_k P^k`` gives ``F C F^-1 = diag(F c)``, and the convolution
    theorem ``F(a ⊛ b) = F a ⊙ F b`` follows from ``a ⊛ b = C(b) a``.

    Equivalent to ``numpy.fft.fft(circular_convolve(a, b)) == fft(a) * fft(b)`` for
    every length.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_convolution_theorem().holds
        True
    """
    with Timer() as timer:
        n = sympy.Symbol("n", integer=True, positive=True)
        m = sympy.Symbol("m", integer=True, nonnegative=True)
        j, k = sympy.symbols("j k", integer=True, nonnegative=True)
        q = sympy.Symbol("q", integer=True)
        omega = lambda e: exp(-2 * pi * I * e / n)  # noqa: E731
        ortho = sympy.summation(omega(m * q), (m, 0, n - 1))
        ok_ortho = (
            isinstance(ortho, sympy.Piecewise)
            and ortho.args[0].expr == n
            and ortho.args[0].cond == sympy.Eq(omega(q), 1)
            and ortho.args[1].expr == 0
        )
        summand = omega(j * (m + 1)) * omega(-m * k) / n
        ratio = sympy.simplify(summand / (omega(j) / n * omega(m * (j - k))))
        ok_shift = ratio == 1
        ok_wrap = omega(j * n) == 1
        holds = bool(ok_ortho and ok_shift and ok_wrap)
    return CheckResult(
        "convolution theorem (all sizes)",
        "the DFT diagonalises the cyclic shift P, so F C(c) F^-1 = diag(F c) for every "
        "circulant and F(a ⊛ b) = F a ⊙ F b",
        holds, ALL_SIZES,
        f"sum_m w^(m q) = {ortho}; the summand of (F P F^-1)_jk is w^j/n times the "
        f"orthogonality summand with q = j - k (ratio {ratio}); w^(j n) = {omega(j * n)}",
        timer.elapsed,
        r"F P F^{-1} = \operatorname{diag}(\omega^j),\quad F\,C(c)\,F^{-1} = "
        r"\operatorname{diag}(F c),\quad F(a \circledast b) = (F a)\odot(F b)",
    )


def check_circulant_diagonalization(n: int, kernel_size: int = 3) -> CheckResult:
    r"""``F P F^-1 = diag(w^j)`` and ``F F^-1 = I`` exactly in QQ(w), and circulants are
    polynomials in ``P``.

    $$F P F^{-1} = \operatorname{diag}(\omega^j), \qquad C(c) = \sum_k c_k P^k,
      \qquad F C(c) F^{-1} = \operatorname{diag}(F c)$$

    The DFT matrix is built over the cyclotomic field QQ(exp(-2 pi i / n)) as a
    DomainMatrix, so the products are exact. ``C(c) = sum c_k P^k`` is checked with
    symbolic ``c``; and the matrix of a single-channel conv layer with circular padding
    (kernel ``kernel_size``, ``"same"`` padding) is shown to be circulant, hence also
    diagonalised by ``F``.

    Equivalent to `prove_convolution_theorem` at one ``n``, without simplify.

    Args:
        n: the size.
        kernel_size: the conv layer's kernel size (at most ``n``).

    Returns:
        A `CheckResult` with scope ``"verified for sizes n = ..."``.

    Example:
        >>> check_circulant_diagonalization(5).holds
        True
    """
    with Timer() as timer:
        K = Cyclotomic(n)
        F, Fi = K.dft(), K.idft()
        P = K.from_int_matrix(shift_matrix(n))
        inverse_ok = (F * Fi - K.eye()).is_zero_matrix
        diag_ok = (F * P * Fi - K.diag_powers(1)).is_zero_matrix
        c = symbols("c", (n,))
        Pm = shift_matrix(n)
        poly = sympy.zeros(n, n)
        power = sympy.eye(n)
        for k in range(n):
            poly += c[k] * power
            power = Pm * power
        poly_ok = first_difference(circulant(c), poly) is None
        w = symbols("w", (1, 1, min(kernel_size, n)))
        M = sympy.Matrix(conv_matrix(w, (1, n), padding="same", padding_mode="circular"))
        layer_ok = M.shape == (n, n) and first_difference(M, circulant(list(M[:, 0]))) is None
        holds = bool(inverse_ok and diag_ok and poly_ok and layer_ok)
    details = (
        f"over {K.field}: F F^-1 = I {'exactly' if inverse_ok else 'FAILS'}; F P F^-1 = "
        f"diag(w^j) {'exactly' if diag_ok else 'FAILS'}; C(c) = sum_k c_k P^k "
        f"{'holds' if poly_ok else 'FAILS'} for symbolic c; the circular-padding conv "
        f"layer matrix is {'circulant' if layer_ok else 'NOT circulant'}"
    )
    return CheckResult(
        "DFT diagonalises circulants", "F P F^-1 = diag(w^j), C(c) = sum c_k P^k, so "
        "F C F^-1 = diag(F c); the circular conv layer is a circulant",
        holds, verified_for(f"n = {n}"), details, timer.elapsed,
        r"F P F^{-1} = \operatorname{diag}(\omega^j),\ C(c) = \sum_k c_k P^k",
    )


def check_convolution_theorem(n: int) -> CheckResult:
    r"""``F(a ⊛ b) = (F a) ⊙ (F b)`` exactly, for symbolic vectors of length ``n``.

    $$\mathrm{DFT}(a \circledast b)_j = \mathrm{DFT}(a)_j\, \mathrm{DFT}(b)_j,
      \qquad a \circledast b = F^{-1}\big((F a) \odot (F b)\big)$$

    The circular convolution comes from the reference sum; both sides are polynomials
    in the root of unity ``x`` with coefficients in ZZ[a, b], compared modulo
    ``x^n - 1`` (so the identity holds at every n-th root of unity, the primitive one
    included). With ``F^-1 F = I`` (`check_circulant_diagonalization`) the inverse
    form follows.

    Equivalent to ``ifft(fft(a) * fft(b)) == circular_convolve(a, b)`` in exact arithmetic.

    Args:
        n: the length.

    Returns:
        A `CheckResult` with scope ``"verified for sizes n = ..."``.

    Example:
        >>> check_convolution_theorem(4).holds
        True
    """
    with Timer() as timer:
        A, B = symbols("a", (n,)), symbols("b", (n,))
        ab = list(as_object_array(convolve(A, B, "circular"), "", ""))
        lhs = group_ring_dft(ab, n)
        fa, fb = group_ring_dft(list(A), n), group_ring_dft(list(B), n)
        rhs = [group_ring_product(fa[j], fb[j], n) for j in range(n)]
        diff = first_difference(sympy.Matrix(lhs), sympy.Matrix(rhs))
    return CheckResult(
        "convolution theorem", "DFT(a ⊛ b) = DFT(a) ⊙ DFT(b) (circular convolution)",
        diff is None, verified_for(f"n = {n}"),
        f"all {n} DFT coefficients equal as polynomials in ZZ[a, b][x]/(x^{n} - 1)"
        if diff is None else f"coefficient entry {diff} differs",
        timer.elapsed, r"F(a \circledast b) = (F a)\odot(F b)",
    )


def check_linear_via_circular(n: int, m: int) -> CheckResult:
    r"""Linear convolution is circular convolution of the operands zero-padded to ``n + m - 1``.

    $$a * b = \big(\mathrm{pad}_{L}(a) \circledast \mathrm{pad}_{L}(b)\big),
      \quad L = n + m - 1$$

    Exact on symbolic vectors; as a control, padding to ``L - 1`` must fail (the last
    output wraps onto the first), which the check also verifies.

    Equivalent to the zero-padding rule of FFT convolution (``scipy.signal.fftconvolve``).

    Args:
        n, m: the lengths of ``a`` and ``b`` (``n + m >= 3`` for the control).

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_linear_via_circular(4, 3).holds
        True
    """
    with Timer() as timer:
        A, B = symbols("a", (n,)), symbols("b", (m,))
        full = convolve(A, B, "full")

        def circular(length):
            a = list(A) + [0] * (length - n)
            b = list(B) + [0] * (length - m)
            return convolve(sympy.Array(a), sympy.Array(b), "circular")

        L = n + m - 1
        ok = first_difference(full, circular(L)) is None
        control = None
        if L - 1 >= max(n, m):
            short = as_object_array(circular(L - 1), "", "")
            control = first_difference(to_sympy_array(as_object_array(full, "", "")[: L - 1]),
                                       to_sympy_array(short))
        holds = ok and control is not None
    return CheckResult(
        "linear via circular", "a * b = circular convolution of a, b zero-padded to n + m - 1",
        holds, verified_for(f"n = {n}, m = {m}"),
        ("equal entry by entry at L = n + m - 1" if ok else "differs at L = n + m - 1")
        + ("; at L - 1 the wrap-around makes entry "
           f"{control} differ, as it must" if control is not None
           else "; control at L - 1 unexpectedly agrees or is not applicable"),
        timer.elapsed, r"a * b = \mathrm{pad}_{n+m-1}(a) \circledast \mathrm{pad}_{n+m-1}(b)",
    )


# ======================================================================================
# Adjointness: the backward passes of a convolution are convolutions.
#
# For ``y = M(w) x`` (``M`` = `conv_matrix`) and ``y = A(x) w`` (``A`` = `kernel_matrix`):
# the input VJP is ``M^T``, the kernel VJP is ``A^T``, and `conv_transpose` is ``M^T``.
# Both transposes are again convolutions: the input VJP correlates the stride-dilated
# cotangent with the flipped kernel (channel axes swapped), the kernel VJP correlates the
# input with the cotangent, stride and dilation exchanged. These are the statements the
# numeric VJPs are built on; here they are proved from the defining sums.
# ======================================================================================


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


# ======================================================================================
# The convolution layer as a matrix: the worked example, block structure and groups,
# translation equivariance, and the layer as a constrained fully connected layer.
# ======================================================================================


def _scope(x_shape, w_shape, kwargs) -> str:
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return verified_for(f"x {tuple(x_shape)}, w {tuple(w_shape)}{extra}")


# ---------------------------------------------------------------------------------------
# The matrix form
# ---------------------------------------------------------------------------------------

WORKED_EXAMPLE = """\
a b 0 c d 0 0 0 0
0 a b 0 c d 0 0 0
0 0 0 a b 0 c d 0
0 0 0 0 a b 0 c d
e f 0 g h 0 0 0 0
0 e f 0 g h 0 0 0
0 0 0 e f 0 g h 0
0 0 0 0 e f 0 g h"""
"""The 8 x 9 matrix of the 1 x 3 x 3 input and the 2 x 1 x 2 x 2 kernel, as written out."""


def check_worked_example() -> CheckResult:
    r"""The worked example: a ``1 x 3 x 3`` input and a ``2 x 1 x 2 x 2`` kernel.

    $$M = \begin{pmatrix} a & b & 0 & c & d & 0 & 0 & 0 & 0 \\ 0 & a & b & 0 & c & d & 0 &
      0 & 0 \\ & & & & \vdots \end{pmatrix} \in \mathbb{R}^{8 \times 9}, \qquad
      M\,(1, \dots, 9)^{\mathsf T} = (a + 2b + 4c + 5d, \dots)$$

    `conv_matrix` must reproduce the written-out matrix (`WORKED_EXAMPLE`) entry by
    entry, and ``M x'`` for ``x' = 1..9`` the written-out outputs
    ``1a+2b+4c+5d, 2a+3b+5c+6d, 4a+5b+7c+8d, 5a+6b+8c+9d`` and likewise with ``e..h``.

    Equivalent to ``conv_matrix([[[[a, b], [c, d]]], [[[e, f], [g, h]]]], (1, 3, 3))``.

    Returns:
        A `CheckResult` (verified for that one size).

    Example:
        >>> check_worked_example().holds
        True
    """
    with Timer() as timer:
        a, b, c, d, e, f, g, h = sympy.symbols("a:h")
        kernel = [[[[a, b], [c, d]]], [[[e, f], [g, h]]]]
        M = conv_matrix(kernel, (1, 3, 3))
        names = {str(s): s for s in (a, b, c, d, e, f, g, h)}
        written = sympy.Matrix([[names.get(tok, sympy.Integer(0)) if tok != "0" else 0
                                 for tok in line.split()] for line in WORKED_EXAMPLE.splitlines()])
        ok_matrix = M.shape == (8, 9) and first_difference(M, written) is None
        x = sympy.Matrix(range(1, 10))
        expected = []
        for p, q, r, s in ((a, b, c, d), (e, f, g, h)):
            expected += [1 * p + 2 * q + 4 * r + 5 * s, 2 * p + 3 * q + 5 * r + 6 * s,
                         4 * p + 5 * q + 7 * r + 8 * s, 5 * p + 6 * q + 8 * r + 9 * s]
        y = M * x
        ok_product = first_difference(y, sympy.Matrix(expected)) is None
        direct = conv(to_sympy_array(np.arange(1, 10).reshape(1, 1, 3, 3)), kernel)
        ok_conv = first_difference(sympy.Matrix(flat(direct)), y) is None
    return CheckResult(
        "worked example", "the 1x3x3 input and 2x1x2x2 kernel give the written-out 8x9 "
        "matrix (first row a b 0 c d 0 0 0 0) and outputs 1a+2b+4c+5d, ...",
        ok_matrix and ok_product and ok_conv, verified_for("x (1, 1, 3, 3), w (2, 1, 2, 2)"),
        f"matrix equal entry by entry: {ok_matrix}; M (1..9) = {list(y)[:2]}...: "
        f"{ok_product}; equals conv of 1..9: {ok_conv}",
        timer.elapsed,
        r"M = \left(\begin{smallmatrix} a&b&0&c&d&0&0&0&0\\ 0&a&b&0&c&d&0&0&0\\ "
        r"0&0&0&a&b&0&c&d&0\\ 0&0&0&0&a&b&0&c&d\\ e&f&0&g&h&0&0&0&0\\ "
        r"0&e&f&0&g&h&0&0&0\\ 0&0&0&e&f&0&g&h&0\\ 0&0&0&0&e&f&0&g&h \end{smallmatrix}\right)",
    )


def check_matrix_forms(x_shape, w_shape, **conv_kwargs) -> CheckResult:
    r"""`conv_matrix` and `kernel_matrix` are the two linear maps of `conv`, built two ways.

    $$\operatorname{vec}(\mathrm{conv}(x, w)) = M(w)\operatorname{vec}(x) =
      A(x)\operatorname{vec}(w)$$

    ``M`` and ``A`` (assembled sparsely from the window index tables) are compared with
    the matrices that ``sympy.linear_eq_to_matrix`` extracts from the reference sums,
    and ``M vec(x)``, ``A vec(w)`` with ``vec(conv(x, w))``; for channels-first layers the
    channel `conv_block_matrix` is also compared with ``M``.

    Equivalent to ``jax.jacfwd`` of `jconv.conv` in each argument, computed exactly.

    Args:
        x_shape: ``(N, C_in, *spatial)`` (one sample is used for ``M``, all for ``A``).
        w_shape: the kernel shape.
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_matrix_forms((1, 2, 4, 4), (4, 1, 3, 3), groups=2, padding=1).holds
        True
    """
    with Timer() as timer:
        X, W = symbols("x", x_shape), symbols("w", w_shape)
        y = conv(X[0:1] if len(x_shape) else X, W, **conv_kwargs)
        y_all = conv(X, W, **conv_kwargs)
        M = conv_matrix(W, x_shape[1:], **conv_kwargs)
        A = kernel_matrix(X, w_shape, **conv_kwargs)
        xs, ws = flat(X)[: math.prod(x_shape[1:])], flat(W)
        M_lin, _ = sympy.linear_eq_to_matrix(flat(y), xs)
        A_lin, _ = sympy.linear_eq_to_matrix(flat(y_all), ws)
        checks = {
            "M == linear_eq_to_matrix": first_difference(M, M_lin) is None,
            "A == linear_eq_to_matrix": first_difference(A, A_lin) is None,
            "M vec(x) == vec(conv)": first_difference(M * sympy.Matrix(xs),
                                                      sympy.Matrix(flat(y))) is None,
            "A vec(w) == vec(conv)": first_difference(A * sympy.Matrix(ws),
                                                      sympy.Matrix(flat(y_all))) is None,
        }
        if not conv_kwargs.get("channels_last"):
            B = conv_block_matrix(W, x_shape[1:], **conv_kwargs)
            checks["block matrix == M"] = first_difference(block_explicit(B), M) is None
    return CheckResult(
        "matrix forms", "vec(conv(x, w)) = M(w) vec(x) = A(x) vec(w), M and A built "
        "sparsely agree with linear_eq_to_matrix of the defining sums",
        all(checks.values()), _scope(x_shape, w_shape, conv_kwargs),
        f"M {M.shape}, A {A.shape}: " + "; ".join(f"{k}: {v}" for k, v in checks.items()),
        timer.elapsed,
        r"\operatorname{vec}(\mathrm{conv}(x,w)) = M(w)\operatorname{vec}(x) = "
        r"A(x)\operatorname{vec}(w)",
    )


# ---------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------


def prove_parameter_count() -> CheckResult:
    r"""A grouped layer has ``C_out C_in prod(k) / G`` weights (+ ``C_out`` biases).

    $$\#w = \sum_{g=1}^{G} \frac{C_{out}}{G}\cdot\frac{C_{in}}{G}\prod_i k_i
      = \frac{C_{out}\, C_{in}}{G} \prod_i k_i$$

    versus ``C_in prod(n) x C_out prod(o)`` for the fully connected layer between the
    same input and output. SymPy sums the per-group counts over ``g`` with symbolic sizes
    and simplifies the ratio to the ungrouped layer to ``1/G``.

    Equivalent to ``w.size`` of a PyTorch ``Conv2d(C_in, C_out, k, groups=G)``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_parameter_count().holds
        True
    """
    with Timer() as timer:
        c_in, c_out, G, k1, k2 = sympy.symbols("C_in C_out G k_1 k_2", positive=True,
                                               integer=True)
        g = sympy.Symbol("g", integer=True)
        per_group = (c_out / G) * (c_in / G) * k1 * k2
        total = sympy.summation(per_group, (g, 1, G))
        ok_total = sympy.simplify(total - c_out * c_in * k1 * k2 / G) == 0
        ratio = sympy.simplify(total / total.subs(G, 1))
        ok_ratio = sympy.simplify(ratio - 1 / G) == 0
    return CheckResult(
        "parameter count (all sizes)",
        "a grouped conv layer has C_out * C_in/G * prod(k) weights (+ C_out biases): 1/G "
        "of the ungrouped layer",
        bool(ok_total and ok_ratio), ALL_SIZES,
        f"sum over g of {per_group} = {sympy.simplify(total)}; ratio to G = 1: {ratio}",
        timer.elapsed, r"\#w = C_{out}\,\tfrac{C_{in}}{G}\prod_i k_i \;(+\,C_{out})",
    )


def check_groups(x_shape, w_shape, **conv_kwargs) -> CheckResult:
    r"""A grouped convolution is ``G`` independent convolutions: a block-diagonal matrix.

    $$M = \operatorname{diag}\big(M^{(1)}, \dots, M^{(G)}\big), \qquad
      \mathrm{conv}_G(x, w) = \big[\mathrm{conv}(x^{(g)}, w^{(g)})\big]_{g=1}^{G}$$

    Exact on symbol arrays: the grouped `conv_matrix` equals the `group_block_matrix`
    (whose blocks are built by separate ungrouped calls on each group's channels), the
    grouped `conv` equals the channel concatenation of ``G`` ungrouped convs, the
    off-diagonal channel blocks are zero, and ``M`` holds exactly
    ``C_out * C_in/G * prod(k)`` distinct weights.

    Equivalent to ``torch.cat([F.conv2d(x_g, w_g) for ...], 1) == F.conv2d(x, w, groups=G)``.

    Args:
        x_shape, w_shape: operand shapes (channels first).
        **conv_kwargs: as for `jconv.conv` (``groups`` included).

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_groups((1, 4, 5), (6, 2, 3), groups=2, padding=1).holds
        True
    """
    with Timer() as timer:
        G = int(conv_kwargs.get("groups", 1))
        X, W = symbols("x", x_shape), symbols("w", w_shape)
        M = conv_matrix(W, x_shape[1:], **conv_kwargs)
        D = group_block_matrix(W, x_shape[1:], **conv_kwargs)
        ok_diag = first_difference(M, block_explicit(D)) is None
        c_out, c_group = w_shape[:2]
        og = c_out // G
        kw = {k: v for k, v in conv_kwargs.items() if k != "groups"}
        x_arr, w_arr = as_object_array(X, "", ""), as_object_array(W, "", "")
        parts = [as_object_array(conv(to_sympy_array(x_arr[:, g * c_group:(g + 1) * c_group]),
                                      to_sympy_array(w_arr[g * og:(g + 1) * og]), **kw), "", "")
                 for g in range(G)]
        concat = np.concatenate(parts, axis=1)
        ok_concat = first_difference(conv(X, W, **conv_kwargs), to_sympy_array(concat)) is None
        rows_per, cols_per = M.rows // c_out, M.cols // (c_group * G)
        occupied = {(r // rows_per, c // cols_per) for (r, c), v in M.todok().items() if v != 0}
        zero_blocks = sum(
            1 for o in range(c_out) for c in range(c_group * G)
            if c // c_group != o // og and (o, c) not in occupied
        )
        expected_zero = c_out * c_group * G - c_out * c_group
        weights = set().union(*(e.free_symbols for e in M.values()))
        n_params = c_out * c_group * math.prod(w_shape[2:])
        ok_params = len(weights) == n_params
        holds = ok_diag and ok_concat and zero_blocks == expected_zero and ok_params
    return CheckResult(
        "groups = block diagonal",
        "the grouped conv matrix is the block diagonal of G ungrouped conv matrices; "
        "grouped conv = concatenation of G convs; C_out*C_in/G*prod(k) weights",
        holds, _scope(x_shape, w_shape, conv_kwargs),
        f"M == diag(M_1..M_{G}): {ok_diag}; conv_G == concat: {ok_concat}; zero channel "
        f"blocks {zero_blocks} of {c_out * c_group * G} (expected {expected_zero}); "
        f"distinct weights in M: {len(weights)} (expected {n_params})",
        timer.elapsed, r"M = \operatorname{diag}(M^{(1)},\dots,M^{(G)})",
    )


# ---------------------------------------------------------------------------------------
# Translation equivariance
# ---------------------------------------------------------------------------------------


def prove_translation_equivariance() -> CheckResult:
    r"""Convolution commutes with translation: exactly (circular), on ``Z`` (linear).

    $$y[p] = \sum_t w_t\, x[(p s + t d - lo) \bmod n]:\quad
      (S_{\tau s} x \mapsto y)[p] = y[(p - \tau) \bmod n/s]$$

    With symbolic sizes: for the circular layer, shifting the input by ``tau s`` turns
    the summand's index ``(p s + t d - lo - tau s) mod n`` into the index of output
    ``p - tau`` (SymPy reduces the nested ``Mod``); for the zero-extended (linear)
    layer on ``Z`` the same substitution holds without ``mod``. On a finite input with
    zero padding it therefore holds away from the border (`check_translation_equivariance`).

    Equivalent to ``conv(roll(x, s tau)) == roll(conv(x), tau)`` for circular padding.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_translation_equivariance().holds
        True
    """
    with Timer() as timer:
        w, x = Function("w"), Function("x")
        p, t, s, d, lo, tau, K = sympy.symbols("p t s d lo tau K", integer=True)
        n = sympy.Symbol("n", integer=True, positive=True)

        def y_circ(xf, q):
            return Sum(w(t) * xf(sympy.Mod(q * s + t * d - lo, n)), (t, 0, K - 1))

        def same(a, b):
            return a.limits == b.limits and sympy.expand(a.function - b.function) == 0

        shifted = y_circ(lambda i: x(sympy.Mod(i - tau * s, n)), p)
        target = y_circ(x, p - tau)
        ok_circ = same(shifted, target)

        def y_lin(xf, q):
            return Sum(w(t) * xf(q * s + t * d - lo), (t, 0, K - 1))

        ok_lin = same(y_lin(lambda i: x(i - tau * s), p), y_lin(x, p - tau))
    return CheckResult(
        "translation equivariance (all sizes)",
        "shifting the input by tau*s shifts the output by tau: exactly for circular "
        "padding, and on Z for zero padding",
        bool(ok_circ and ok_lin), ALL_SIZES,
        f"circular: {shifted} == y[p - tau]: {ok_circ}; linear on Z: {ok_lin}",
        timer.elapsed, r"\mathrm{conv}(S_{\tau s} x) = S_{\tau}\,\mathrm{conv}(x)",
    )


def _shift(arr: np.ndarray, shift, circular: bool) -> np.ndarray:
    """Shift the spatial axes of an (N, C, *S) object array (zeros shifted in if linear)."""
    out = arr
    for ax, k in enumerate(shift, start=2):
        if circular:
            out = np.roll(out, k, axis=ax)
        elif k:
            moved = np.full(out.shape, sympy.S.Zero, dtype=object)
            src = [slice(None)] * out.ndim
            dst = [slice(None)] * out.ndim
            if k > 0:
                src[ax], dst[ax] = slice(0, out.shape[ax] - k), slice(k, None)
            else:
                src[ax], dst[ax] = slice(-k, None), slice(0, out.shape[ax] + k)
            moved[tuple(dst)] = out[tuple(src)]
            out = moved
    return out


def check_translation_equivariance(x_shape, w_shape, shift, **conv_kwargs) -> CheckResult:
    r"""Shift equivariance, exactly: everywhere (circular) or away from the border (zeros).

    $$\mathrm{conv}(S_{\tau s}\, x)[p] = \mathrm{conv}(x)[p - \tau]$$

    ``shift`` is the input shift per spatial dim (a multiple of the stride). With
    ``padding_mode="circular"`` and an output as long as ``input / stride``, both sides
    are compared with cyclic shifts, everywhere. Otherwise (zero padding) the shifted
    input loses samples at the end and gains zeros at the start: the identity must
    hold exactly at every output whose window, and whose partner's window, stays inside
    the input, and the check reports how many border outputs differ.

    Equivalent to `prove_translation_equivariance` at one size.

    Args:
        x_shape, w_shape: operand shapes (channels first).
        shift: one non-negative input shift per spatial dim, a multiple of the stride.
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Raises:
        ValueError: a shift that is not a multiple of the stride.

    Example:
        >>> check_translation_equivariance((1, 1, 8), (1, 1, 3), (2,), padding="same",
        ...                                padding_mode="circular").holds
        True
    """
    fn = "jconv.symbolic.check_translation_equivariance"
    with Timer() as timer:
        setup = conv_setup(fn, tuple(x_shape), tuple(w_shape), None, conv_kwargs)
        stride = setup["stride"]
        shift = tuple(shift)
        if any(k % s for k, s in zip(shift, stride)):
            raise ValueError(f"{fn}: shift {shift} must be a multiple of the stride {stride}")
        out_shift = tuple(k // s for k, s in zip(shift, stride))
        circular = setup["mode"] == "circular"
        X, W = symbols("x", x_shape), symbols("w", w_shape)
        x_arr = as_object_array(X, "", "")
        y = as_object_array(conv(X, W, **conv_kwargs), "", "")
        y_shifted = as_object_array(conv(to_sympy_array(_shift(x_arr, shift, circular)), W,
                                         **conv_kwargs), "", "")
        if circular:
            if any(o * s != n for o, s, n in zip(y.shape[2:], stride, setup["sizes"])):
                raise ValueError(f"{fn}: circular equivariance needs output = input / stride, "
                                 f"got output {y.shape[2:]} for input {setup['sizes']}")
            diff = first_difference(to_sympy_array(y_shifted),
                                    to_sympy_array(_shift(y, out_shift, True)))
            holds = diff is None
            details = ("conv(roll(x)) == roll(conv(x)) at all outputs" if holds
                       else f"differs at flat entry {diff}")
        else:
            out = y.shape[2:]
            reach = [(k - 1) * d - lo for k, d, (lo, _) in
                     zip(setup["kernel"], setup["dilation"], setup["pads"])]
            interior, agree_border, border, failures = 0, 0, 0, []
            for p in itertools.product(*(range(o) for o in out)):
                q = tuple(pi - k for pi, k in zip(p, out_shift))
                valid = all(0 <= qi < o for qi, o in zip(q, out))
                # the last tap of p's window must not read an input sample that the
                # shift pushed out of the input (positions n .. n + tau - 1)
                inside = valid and all(pi * st + r < n for pi, st, r, n in
                                       zip(p, stride, reach, setup["sizes"]))
                lhs = to_sympy_array(y_shifted[(slice(None), slice(None), *p)])
                same = valid and first_difference(
                    lhs, to_sympy_array(y[(slice(None), slice(None), *q)])) is None
                if inside:
                    interior += 1
                    if not same:
                        failures.append(p)
                else:
                    border += 1
                    agree_border += same
            holds = not failures and interior > 0
            details = (
                f"equal at all {interior} interior output positions" if not failures
                else f"differs at interior positions {failures[:3]}"
            ) + (f"; {border - agree_border} of {border} border positions differ (zero "
                 f"padding breaks equivariance there)")
    return CheckResult(
        "translation equivariance" + (" (circular)" if circular else " (zero padding)"),
        "conv(shift(x, tau*s)) = shift(conv(x), tau)"
        + ("" if circular else " away from the border"),
        holds, _scope(x_shape, w_shape, {**conv_kwargs, "shift": shift}), details,
        timer.elapsed, r"\mathrm{conv}(S_{\tau s} x) = S_\tau\, \mathrm{conv}(x)",
    )


# ---------------------------------------------------------------------------------------
# The conv layer as a constrained fully connected layer
# ---------------------------------------------------------------------------------------


def check_fc_constraints(x_shape, w_shape, **conv_kwargs) -> CheckResult:
    r"""A conv layer is a fully connected layer whose weights are shared and local.

    $$H[(o, p), (c, i)] \;\xrightarrow{\text{locality, sharing}}\;
      \begin{cases} V[o, c, t] & i = p s + t d - lo \\ 0 & \text{otherwise}\end{cases}
      \;=\; M(V)$$

    Start from a generic fully connected layer ``H`` (one free weight per
    input-output pair, ``C_in prod(n) x C_out prod(o)`` of them). Locality keeps only
    the pairs inside the receptive field of output ``p``; weight sharing
    (translation invariance) makes the weight depend on the offset ``t`` only. The
    constrained matrix equals `conv_matrix` of the kernel ``V`` exactly; every row has at
    most ``C_in/G prod(k)`` nonzeros, all inside the window; every weight is reused at
    every output position where its tap lands on the input.

    Equivalent to the derivation of the conv layer from an MLP by translation
    invariance and locality.

    Args:
        x_shape: ``(1, C_in, *spatial)``.
        w_shape: ``(C_out, C_in // groups, *k)``.
        **conv_kwargs: as for `jconv.conv` (zero padding, channels first).

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_fc_constraints((1, 1, 5), (2, 1, 3), padding=1).holds
        True
    """
    fn = "jconv.symbolic.check_fc_constraints"
    with Timer() as timer:
        setup = conv_setup(fn, tuple(x_shape), tuple(w_shape), None, conv_kwargs)
        V = symbols("v", w_shape)
        v = as_object_array(V, "", "")
        M = conv_matrix(V, x_shape[1:], **conv_kwargs)
        sizes, kernel = setup["sizes"], setup["kernel"]
        out, tables = conv_taps(sizes, kernel, setup["stride"], setup["dilation"], setup["pads"],
                                setup["mode"])
        c_out, c_group = w_shape[:2]
        c_in = c_group * setup["groups"]
        og = c_out // setup["groups"]
        n_in, n_out = math.prod(sizes), math.prod(out)
        H = sympy.Matrix(c_out * n_out, c_in * n_in,
                         lambda r, c: sympy.Symbol(f"h_{r}_{c}", real=True))
        substitution = {}
        for o in range(c_out):
            first = (o // og) * c_group
            for pi, p in enumerate(itertools.product(*(range(k) for k in out))):
                pairs = dict((i, t) for t, i in window(tables, p))
                for c in range(c_in):
                    for ii, i in enumerate(itertools.product(*(range(n) for n in sizes))):
                        h = H[o * n_out + pi, c * n_in + ii]
                        in_group = first <= c < first + c_group
                        substitution[h] = (v[(o, c - first, *pairs[i])]
                                           if in_group and i in pairs else 0)
        constrained = H.xreplace(substitution)
        ok_equal = first_difference(constrained, M) is None
        row_nnz = max(sum(1 for j in range(M.cols) if M[r, j] != 0) for r in range(M.rows))
        ok_local = row_nnz <= c_group * math.prod(kernel)
        uses = {}
        for e in M.values():
            for sym in e.free_symbols:
                uses[sym] = uses.get(sym, 0) + 1
        fc_params, conv_params = H.rows * H.cols, math.prod(w_shape)
    return CheckResult(
        "conv = constrained FC layer",
        "a fully connected layer with locality and weight sharing imposed is the conv "
        "layer: H constrained == M(V)",
        ok_equal and ok_local, _scope(x_shape, w_shape, conv_kwargs),
        f"constrained H == conv_matrix(V): {ok_equal}; at most {row_nnz} nonzeros per row "
        f"(receptive field {c_group}x{math.prod(kernel)}); {fc_params} FC weights -> "
        f"{conv_params} shared weights, each used at {min(uses.values())}..{max(uses.values())}"
        f" positions",
        timer.elapsed,
        r"H_{(o,p),(c,i)} = [\,i = ps + td - lo\,]\; V_{o,c,t} \;\Rightarrow\; H = M(V)",
    )


def check_pointwise(x_shape, c_out: int, *, channels_last: bool = False) -> CheckResult:
    r"""A ``1 x 1`` convolution is a fully connected layer applied at every pixel.

    $$y[:, p] = W\, x[:, p] \;\;\forall p, \qquad M = W \otimes I_{\prod n}
      \;(\text{channels last: } I_{\prod n} \otimes W)$$

    Exact on symbol arrays: the matrix of the ``1 x 1`` conv is the Kronecker product of
    the ``C_out x C_in`` weight matrix with the identity over pixels, and each output
    pixel is ``W`` times that input pixel.

    Equivalent to ``einsum("oc,nc...->no...", W, x)`` (a "network in network" layer).

    Args:
        x_shape: ``(1, C_in, *spatial)`` (``(1, *spatial, C_in)`` with channels_last).
        c_out: output channels.
        channels_last: use the NHWC/HWIO layout.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_pointwise((1, 3, 2, 2), 2).holds
        True
    """
    with Timer() as timer:
        nd = len(x_shape) - 2
        c_in = x_shape[-1] if channels_last else x_shape[1]
        sizes = x_shape[1:-1] if channels_last else x_shape[2:]
        w_shape = (*(1,) * nd, c_in, c_out) if channels_last else (c_out, c_in, *(1,) * nd)
        X, W = symbols("x", x_shape), symbols("w", w_shape)
        Wm = sympy.Matrix(c_out, c_in, lambda o, c: (W[(*(0,) * nd, c, o)] if channels_last
                                                     else W[(o, c, *(0,) * nd)]))
        M = conv_matrix(W, x_shape[1:], channels_last=channels_last)
        eye = sympy.eye(math.prod(sizes))
        kron = (sympy.kronecker_product(eye, Wm) if channels_last
                else sympy.kronecker_product(Wm, eye))
        ok_kron = first_difference(M, kron) is None
        y = as_object_array(conv(X, W, channels_last=channels_last), "", "")
        x = as_object_array(X, "", "")
        ok_pixels = True
        for p in itertools.product(*(range(n) for n in sizes)):
            xp = x[(0, *p, slice(None))] if channels_last else x[(0, slice(None), *p)]
            yp = y[(0, *p, slice(None))] if channels_last else y[(0, slice(None), *p)]
            if first_difference(sympy.Matrix(list(yp)), Wm * sympy.Matrix(list(xp))) is not None:
                ok_pixels = False
    return CheckResult(
        "1x1 conv = per-pixel FC", "a 1x1 convolution applies the same C_out x C_in matrix "
        "at every pixel: M = W (x) I",
        ok_kron and ok_pixels,
        verified_for(f"x {tuple(x_shape)}, C_out = {c_out}" + (", channels_last" if channels_last
                                                              else "")),
        f"M == {'I (x) W' if channels_last else 'W (x) I'}: {ok_kron}; y[:, p] == W x[:, p] at "
        f"all {math.prod(sizes)} pixels: {ok_pixels}",
        timer.elapsed, r"M_{1\times 1} = W \otimes I",
    )


def check_full_kernel_fc(x_shape, c_out: int) -> CheckResult:
    r"""A ``"valid"`` convolution whose kernel covers the whole input is a dense layer.

    $$M = \operatorname{reshape}(w, (C_{out}, C_{in} \prod n))$$

    with one output position per channel: every weight is used once, nothing is
    shared, and the conv matrix is the flattened kernel (exact).

    Equivalent to ``x.reshape(N, -1) @ w.reshape(C_out, -1).T``.

    Args:
        x_shape: ``(1, C_in, *spatial)``.
        c_out: output channels.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_full_kernel_fc((1, 2, 3), 2).holds
        True
    """
    with Timer() as timer:
        w_shape = (c_out, *x_shape[1:])
        W = symbols("w", w_shape)
        M = conv_matrix(W, x_shape[1:])
        dense = sympy.Matrix(c_out, math.prod(x_shape[1:]), flat(W))
        holds = first_difference(M, dense) is None
    return CheckResult(
        "full kernel = dense layer", "a valid conv with a kernel as large as the input is "
        "the dense layer with the flattened kernel as weight matrix",
        holds, verified_for(f"x {tuple(x_shape)}, C_out = {c_out}"),
        f"M {M.shape} == reshape(w): {holds}", timer.elapsed,
        r"M = \operatorname{reshape}(w, C_{out} \times C_{in}\textstyle\prod n)",
    )


def check_scalar_conv() -> CheckResult:
    r"""Convolution of scalars is multiplication (layer, transposed layer and signal).

    $$x * w = x\,w \quad\text{for } 1 \times 1 \text{ operands}$$

    Exact: `conv` of a ``(1, 1, 1)`` input with a ``(1, 1, 1)`` kernel, `conv_transpose`
    likewise, and `convolve` / `correlate` of length-1 sequences all give ``x w`` (so
    the layer equation ``y_i = sum_j w_ij * x_j + b_i`` generalises the fully
    connected layer ``y_i = sum_j w_ij x_j + b_i``).

    Equivalent to ``numpy.convolve([x], [w]) == [x * w]``.

    Returns:
        A `CheckResult` (complete: the statement concerns one size).

    Example:
        >>> check_scalar_conv().holds
        True
    """
    from ._reference import conv_transpose, convolve, correlate

    with Timer() as timer:
        x, w = sympy.symbols("x w", real=True)
        results = {
            "conv": conv([[[x]]], [[[w]]])[0, 0, 0],
            "conv_transpose": conv_transpose([[[x]]], [[[w]]])[0, 0, 0],
            "convolve": convolve([x], [w])[0],
            "correlate": correlate([x], [w])[0],
        }
        holds = all(sympy.expand(v - x * w) == 0 for v in results.values())
    return CheckResult(
        "scalar conv = product", "convolution of scalars is multiplication", holds,
        verified_for("1 x 1 (the only size the statement concerns)"),
        ", ".join(f"{k}: {v}" for k, v in results.items()), timer.elapsed, r"x * w = x\,w",
    )


# ======================================================================================
# Output sizes: the window-count formula, its transposed inverse, SAME padding, and the
# signal modes; proved with symbolic sizes and checked exhaustively on a grid.
#
# With ``E = n + lo + hi`` the padded length and ``a = E - d (k - 1) - 1``, division with
# remainder ``a = s q + r`` (``0 <= r < s``) gives ``floor(a / s) = (a - r) / s``; every
# statement below is reduced to that identity.
# ======================================================================================


def _size_symbols():
    n, k, s, d = sympy.symbols("n k s d", integer=True, positive=True)
    lo, hi = sympy.symbols("lo hi", integer=True)
    r = sympy.Symbol("r", integer=True, nonnegative=True)
    return n, k, s, d, lo, hi, r


def prove_output_size() -> CheckResult:
    r"""A conv layer has ``floor((n + lo + hi - d(k-1) - 1) / s) + 1`` outputs, for all sizes.

    $$O = \Big\lfloor \frac{n + lo + hi - d(k-1) - 1}{s} \Big\rfloor + 1:\qquad
      (O-1)s + d(k-1) \le E - 1 < O s + d(k-1)$$

    Window ``p`` covers padded positions ``p s .. p s + d (k - 1)``; the windows that fit
    in the padded length ``E = n + lo + hi`` are ``p = 0 .. O - 1``. With symbolic
    ``n, k, s, d, lo, hi`` and ``floor(a / s) = (a - r) / s``: the end of the last window
    minus ``E - 1`` simplifies to ``-r <= 0`` (it fits) and the end of the next one to
    ``s - r > 0`` (it does not).

    Equivalent to the output-size rule of ``torch.nn.Conv2d`` and
    ``jax.lax.conv_general_dilated``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_output_size().holds
        True
    """
    with Timer() as timer:
        n, k, s, d, lo, hi, r = _size_symbols()
        a = n + lo + hi - d * (k - 1) - 1
        fl = sympy.floor(a / s)
        O = fl + 1
        E = n + lo + hi
        last = sympy.simplify(((O - 1) * s + d * (k - 1) - (E - 1)).subs(fl, (a - r) / s))
        nxt = sympy.simplify((O * s + d * (k - 1) - (E - 1)).subs(fl, (a - r) / s))
        holds = sympy.expand(last + r) == 0 and sympy.expand(nxt - (s - r)) == 0
    return CheckResult(
        "output size (all sizes)",
        "conv output size = floor((n + lo + hi - d(k-1) - 1)/s) + 1: the last window fits, "
        "the next does not",
        holds, ALL_SIZES,
        f"with floor(a/s) = (a - r)/s, 0 <= r < s: last window end - (E - 1) = {last} <= 0; "
        f"next window end - (E - 1) = {nxt} > 0",
        timer.elapsed,
        r"O = \left\lfloor \frac{n + lo + hi - d(k-1) - 1}{s} \right\rfloor + 1",
    )


def prove_transpose_size() -> CheckResult:
    r"""The transposed convolution inverts the shape map, with ``output_padding = r``.

    $$n_T = (O - 1)s - lo - hi + d(k-1) + \mathrm{op} + 1 = n
      \quad\text{for } \mathrm{op} = (n + lo + hi - d(k-1) - 1) \bmod s$$

    With symbolic sizes and ``floor(a / s) = (a - r) / s`` the expression simplifies to
    ``n``; so `conv_transpose` with that ``output_padding`` (always ``< s``) maps the
    conv's output shape back to its input shape, as the adjoint must.

    Equivalent to PyTorch's ``output_padding`` rule for ``ConvTranspose``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_transpose_size().holds
        True
    """
    with Timer() as timer:
        n, k, s, d, lo, hi, r = _size_symbols()
        a = n + lo + hi - d * (k - 1) - 1
        fl = sympy.floor(a / s)
        O = fl + 1
        n_t = sympy.simplify(((O - 1) * s - lo - hi + d * (k - 1) + r + 1).subs(fl, (a - r) / s))
        holds = sympy.expand(n_t - n) == 0
    return CheckResult(
        "transposed size (all sizes)",
        "conv_transpose with output_padding = (n + lo + hi - d(k-1) - 1) mod s has output "
        "size n: it inverts the conv's shape map",
        holds, ALL_SIZES, f"(O - 1)s - lo - hi + d(k-1) + r + 1 simplifies to {n_t}",
        timer.elapsed,
        r"(O-1)s - lo - hi + d(k-1) + \big((n+lo+hi-d(k-1)-1) \bmod s\big) + 1 = n",
    )


def prove_same_padding() -> CheckResult:
    r"""SAME padding gives ``ceil(n / s)`` outputs (symbolic where the padding is positive).

    $$P = \max\big((\lceil n/s \rceil - 1)s + d(k-1) + 1 - n,\ 0\big)
      \;\Rightarrow\; O = \lceil n/s \rceil$$

    With ``c = ceil(n / s)`` symbolic and ``P > 0``, the output-size formula simplifies to
    ``c`` for all sizes; the case ``P = 0`` (a kernel no wider than the stride gap) is
    an inequality covered exhaustively by `check_output_sizes`.

    Equivalent to XLA's ``SAME`` padding rule.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"`` (for positive padding).

    Example:
        >>> prove_same_padding().holds
        True
    """
    with Timer() as timer:
        n, k, s, d, *_ = _size_symbols()
        c = sympy.Symbol("c", integer=True, positive=True)
        P = (c - 1) * s + d * (k - 1) + 1 - n
        O = sympy.simplify(sympy.floor((n + P - d * (k - 1) - 1) / s) + 1)
        holds = O == c
    return CheckResult(
        "SAME padding size (all sizes, P > 0)",
        "with SAME padding P = (ceil(n/s) - 1)s + d(k-1) + 1 - n > 0 the output size is "
        "ceil(n/s)",
        holds, ALL_SIZES, f"floor((n + P - d(k-1) - 1)/s) + 1 simplifies to {O} = c = ceil(n/s)",
        timer.elapsed, r"O_{\mathrm{SAME}} = \lceil n / s \rceil",
    )


def check_output_sizes(max_n: int = 10, max_k: int = 4, max_s: int = 3, max_d: int = 3,
                       max_pad: int = 2) -> CheckResult:
    r"""Every output-size rule, exhaustively on a grid, against counting windows.

    $$O = \#\{p \ge 0 : p s + d(k-1) \le E - 1\},\quad
      n_T = \max_{i,t}(i s + t d) + 1 + \mathrm{op} - lo - hi$$

    For every ``n <= max_n, k <= max_k, s <= max_s, d <= max_d, 0 <= lo, hi <= max_pad``:
    the formula, the brute-force window count and the reference's
    `conv_output_shape` agree; SAME gives ``ceil(n / s)``; the scatter extent of
    `conv_transpose` matches its formula; `conv_transpose` with the remainder as
    ``output_padding`` returns ``n`` and the conv of that returns ``O``; and the signal
    modes have lengths ``n + m - 1`` (full), ``n`` (same, circular), ``|n - m| + 1``
    (valid) in the reference sums.

    Equivalent to `prove_output_size` and `prove_transpose_size`, by enumeration.

    Args:
        max_n, max_k, max_s, max_d, max_pad: the grid.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_output_sizes(5, 3, 2, 2, 1).holds
        True
    """
    with Timer() as timer:
        failures, count = [], 0
        for n, k, s, d, lo, hi in itertools.product(
            range(1, max_n + 1), range(1, max_k + 1), range(1, max_s + 1), range(1, max_d + 1),
            range(max_pad + 1), range(max_pad + 1),
        ):
            E = n + lo + hi
            if d * (k - 1) + 1 > E:
                continue
            count += 1
            windows = sum(1 for p in range(E) if p * s + d * (k - 1) <= E - 1)
            formula = conv_out_size(n, k, s, d, lo, hi)
            ref = conv_output_shape((1, 1, n), (1, 1, k), stride=s, dilation=d,
                                    padding=((lo, hi),))[2]
            r = (E - d * (k - 1) - 1) % s
            extent = (windows - 1) * s + d * (k - 1) + 1 + r - lo - hi
            back = conv_out_size(extent, k, s, d, lo, hi) if extent >= 1 else None
            if not (windows == formula == ref and extent == n and back == windows):
                failures.append((n, k, s, d, lo, hi))
            same = conv_output_shape((1, 1, n), (1, 1, k), stride=s, dilation=d,
                                     padding="same")[2]
            if same != -(-n // s):
                failures.append(("same", n, k, s, d))
        for n, m in itertools.product(range(1, max_n + 1), range(1, max_k + 2)):
            expected = {"full": n + m - 1, "same": n, "valid": abs(n - m) + 1, "circular": n}
            for mode, length in expected.items():
                if len(signal_pairs(n, m, mode, False)) != length or len(
                        signal_pairs(n, m, mode, True)) != length:
                    failures.append((mode, n, m))
        holds = not failures
    return CheckResult(
        "output sizes (grid)", "conv, SAME, conv_transpose and signal-mode output sizes "
        "match counting windows; conv_transpose with op = r inverts conv",
        holds,
        verified_for(f"n <= {max_n}, k <= {max_k}, s <= {max_s}, d <= {max_d}, "
                     f"padding <= {max_pad} (exhaustive)"),
        f"{count} conv configurations and {max_n * (max_k + 1) * 4} signal cases agree"
        if holds else f"mismatches: {failures[:5]}",
        timer.elapsed, r"O = \#\{p : p s + d(k-1) \le E - 1\}",
    )
