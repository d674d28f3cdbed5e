r"""Winograd minimal filtering F(m, r): proofs of the transforms the numeric algorithm runs.

``F(m, r)`` computes ``m`` outputs of an ``r``-tap correlation,

$$y_i = \sum_{j=0}^{r-1} d_{i+j}\, g_j, \qquad 0 \le i < m,$$

from an input tile ``d`` of ``alpha = m + r - 1`` samples with ``alpha`` products:
``y = A^T [(G g) (.) (B^T d)]``. The numeric ``winograd`` algorithm builds ``A^T, G,
B^T`` exactly (``fractions.Fraction``) by Cook-Toom from the points ``0, 1, -1, 2, -2,
1/2, -1/2`` and infinity, and rounds each entry once to float64. The checks here read
those very objects (`transform` converts them to SymPy matrices without rebuilding
them) and prove the identity with symbolic ``d`` and ``g``; `check_table` also checks
that the float64 matrices the algorithm multiplies by are the exact ones rounded once.

For several spatial dimensions the 1-D transforms are applied along each dimension in
turn (``Y = A^T [(G g G^T) (.) (B^T d B)] A`` in 2-D); `prove_nested` proves that too.

Example:
    >>> transform(2, 3)[2].tolist()
    [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]]
    >>> bool(prove_minimal_filtering(2, 3))
    True
"""

from __future__ import annotations

import numpy as np
import sympy

from .._algorithms import winograd as _numeric
from ._result import CheckResult, Timer, verified_for

ENTRIES = _numeric.ENTRIES
"""Every ``(m, r)`` the numeric algorithm has transforms for (``alpha <= 8``)."""


def transform(m: int, r: int) -> tuple[sympy.Matrix, sympy.Matrix, sympy.Matrix]:
    """``(AT, G, BT)`` of ``F(m, r)``: the numeric algorithm's exact tables as SymPy matrices.

    Example:
        >>> transform(2, 3)[0].tolist()
        [[1, 1, 1, 0], [0, 1, -1, 1]]
    """
    return tuple(sympy.Matrix([[sympy.Rational(v.numerator, v.denominator) for v in row]
                               for row in mat]) for mat in _numeric.cook_toom(m, r))


def prove_minimal_filtering(m: int, r: int, matrices=None) -> CheckResult:
    r"""Prove ``A^T [(G g) (.) (B^T d)] = (sum_j d_{i+j} g_j)_i`` for symbolic ``d``, ``g``.

    Every output is expanded as a polynomial in the ``alpha + r`` symbols with exact
    rational coefficients and compared with the direct sum: equal polynomials are the
    identity for all values.

    Args:
        m, r: the tile sizes.
        matrices: ``(AT, G, BT)`` to check (default: `transform` ``(m, r)``, the numeric
            algorithm's table).

    Example:
        >>> prove_minimal_filtering(4, 3).holds
        True
    """
    with Timer() as timer:
        at, g_t, bt = matrices if matrices is not None else transform(m, r)
        at, g_t, bt = sympy.Matrix(at), sympy.Matrix(g_t), sympy.Matrix(bt)
        alpha = m + r - 1
        d = sympy.Matrix(sympy.symbols(f"d0:{alpha}"))
        g = sympy.Matrix(sympy.symbols(f"g0:{r}"))
        shapes_ok = (at.shape, g_t.shape, bt.shape) == ((m, alpha), (alpha, r), (alpha, alpha))
        bad = []
        if shapes_ok:
            fast = at * (g_t * g).multiply_elementwise(bt * d)
            bad = [i for i in range(m)
                   if sympy.expand(fast[i] - sum(d[i + j] * g[j] for j in range(r))) != 0]
    holds = shapes_ok and not bad
    details = (
        f"expanded all {m} outputs as polynomials in d0..d{alpha - 1}, g0..g{r - 1}: "
        f"identical to the direct sum; {alpha} multiplications instead of {m * r}"
        if holds else f"outputs {bad} differ (shapes ok: {shapes_ok})"
    )
    return CheckResult(
        f"winograd F({m},{r})",
        f"A^T [(G g) * (B^T d)] equals the correlation sum_j d[i+j] g[j], i < {m}, "
        f"for every d (length {alpha}) and g (length {r})",
        holds, verified_for(f"m = {m}, r = {r} (symbolic d, g)"), details, timer.elapsed,
        r"A^T\big[(G g) \odot (B^T d)\big]_i = \sum_{j=0}^{r-1} d_{i+j}\, g_j",
    )


def prove_nested(m: tuple[int, int], r: tuple[int, int]) -> CheckResult:
    r"""Prove the 2-D nesting ``A_0^T [(G_0 g G_1^T) (.) (B_0^T d B_1)] A_1`` = 2-D correlation.

    Example:
        >>> prove_nested((2, 1), (2, 3)).holds
        True
    """
    with Timer() as timer:
        (at0, g0, bt0), (at1, g1, bt1) = transform(m[0], r[0]), transform(m[1], r[1])
        a0, a1 = m[0] + r[0] - 1, m[1] + r[1] - 1
        d = sympy.Matrix(a0, a1, sympy.symbols(f"d0:{a0 * a1}"))
        g = sympy.Matrix(r[0], r[1], sympy.symbols(f"g0:{r[0] * r[1]}"))
        fast = at0 * (g0 * g * g1.T).multiply_elementwise(bt0 * d * bt1.T) * at1.T
        bad = [
            (i, k) for i in range(m[0]) for k in range(m[1])
            if sympy.expand(fast[i, k] - sum(d[i + j, k + l] * g[j, l]
                                             for j in range(r[0]) for l in range(r[1])))
        ]
    return CheckResult(
        f"winograd F({m[0]}x{m[1]},{r[0]}x{r[1]})",
        "the nested 2-D transforms equal the 2-D correlation of a symbolic tile",
        not bad, verified_for(f"m = {m}, r = {r} (symbolic d, g)"),
        f"expanded all {m[0] * m[1]} outputs: identical" if not bad else f"outputs {bad} differ",
        timer.elapsed,
        r"A_0^T\big[(G_0 g G_1^T) \odot (B_0^T d B_1)\big] A_1 = d \star g",
    )


def check_table(max_alpha: int = _numeric.MAX_TILE) -> CheckResult:
    """Every table entry with ``alpha <= max_alpha`` proves, and its float64 form is exact.

    For each ``(m, r)`` in `ENTRIES`: `prove_minimal_filtering` on the exact tables, and
    the float64 matrices the numeric algorithm multiplies by equal each exact entry
    rounded once to the nearest double.

    Example:
        >>> check_table(4).holds
        True
    """
    entries = [(m, r) for m, r in ENTRIES if m + r - 1 <= max_alpha]
    with Timer() as timer:
        failures, rounding = [], []
        for m, r in entries:
            if not prove_minimal_filtering(m, r):
                failures.append((m, r))
            exact = _numeric.cook_toom(m, r)
            used = _numeric.float_transforms(m, r)
            if not all(np.array_equal(u, np.array([[float(v) for v in row] for row in e],
                                                  np.float64)) and u.dtype == np.float64
                       for u, e in zip(used, exact)):
                rounding.append((m, r))
    return CheckResult(
        "winograd table",
        "every F(m, r) the numeric algorithm can run satisfies the identity, and the float64 "
        "matrices it multiplies by are the exact transforms rounded once",
        not failures and not rounding,
        verified_for(f"{len(entries)} entries, alpha <= {max_alpha}"),
        (f"entries failing: {failures}; " if failures else "every entry proved; ")
        + (f"float64 forms not the rounded exact ones: {rounding}" if rounding
           else "every float64 form is the exact table rounded once"),
        timer.elapsed,
    )
