r"""Algebraic laws: linearity, commutativity (and its failure for correlation), the flip
identity, associativity, and the composition of two layers.

``prove_*`` functions work with symbolic sizes (SymPy ``Sum`` objects over undefined
functions) and return results with scope ``"all sizes (symbolic)"``; ``check_*``
functions compare the reference semantics exactly at given sizes; ``*_numeric``
functions test a numeric function (default: jconv's) for the same law.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy
from sympy import Add, Function, Sum, oo
from sympy.simplify.simplify import factor_sum

from ._arrays import as_object_array, symbols, to_sympy_array
from ._exact import first_difference
from ._reference import conv, convolve, correlate
from ._result import ALL_SIZES, CheckResult, Timer, verified_for


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


def _jconv():
    import jconv

    return jconv


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


