r"""Winograd minimal filtering F(m, r) by Cook-Toom: exact transforms, proofs, the table.

**The algorithm.** ``F(m, r)`` computes ``m`` outputs of an ``r``-tap correlation,

$$y_i = \sum_{j=0}^{r-1} d_{i+j}\, g_j, \qquad 0 \le i < m,$$

from an input tile ``d`` of ``alpha = m + r - 1`` samples with only ``alpha``
multiplications:

$$y = A^T \big[ (G g) \odot (B^T d) \big].$$

**Cook-Toom construction.** Let ``h(x) = sum_i h_i x^i`` (``m`` coefficients) and
``g(x)`` (``r`` coefficients); their product ``s = h g`` has ``alpha`` coefficients
and is determined by its values at ``alpha - 1`` distinct points ``p_k`` and at
infinity (the leading coefficient). With ``V_n`` the ``alpha x n`` evaluation matrix
(rows ``[1, p_k, ..., p_k^{n-1}]``, and ``[0, ..., 0, 1]`` for infinity),

$$s = V_\alpha^{-1} \big[ (V_m h) \odot (V_r g) \big].$$

The correlation is the transpose of this bilinear map in ``h``: ``y_i = sum_k d_k
ds_k / dh_i``, so

$$A^T = V_m^T, \qquad G = V_r, \qquad B^T = V_\alpha^{-T}.$$

Finally each row ``k`` of ``B^T`` is scaled by the positive rational that makes it a
primitive integer vector, and row ``k`` of ``G`` by the inverse, which leaves
``(G g)_k (B^T d)_k`` unchanged: the data transform (applied to every tile) then has
small integer entries, and the fractions sit in the kernel transform (applied once).

**Nesting.** For several spatial dimensions the 1-D transforms are applied along each
dimension in turn (``Y = A^T [(G g G^T) \odot (B^T d B)] A`` in 2-D); the identity
follows from the 1-D one because each side is multilinear and separable.

**The table.** `table_source` renders every ``(m, r)`` with ``alpha <= 8`` (points
``0, 1, -1, 2, -2, 1/2, -1/2``, taken in this order) as exact fractions: the module
``jconv/_algorithms/_winograd_tables.py`` that the numeric algorithm reads (so that
importing ``jconv`` never imports SymPy). ``python -m jconv.symbolic.winograd``
rewrites it; a test checks that it is identical to a fresh rendering.

Example:
    >>> from jconv.symbolic.winograd import cook_toom
    >>> t = cook_toom(2, 3)
    >>> t.BT.tolist()
    [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]]
    >>> bool(prove_minimal_filtering(2, 3))
    True
"""

from __future__ import annotations

import dataclasses
import functools
import math
from fractions import Fraction
from pathlib import Path

import sympy

from ._result import CheckResult, Timer, verified_for

MAX_ALPHA = 8
"""The largest tile ``alpha = m + r - 1`` in the generated table."""

POINT_ORDER = (0, 1, -1, 2, -2, sympy.Rational(1, 2), sympy.Rational(-1, 2), 3, -3,
               sympy.Rational(1, 3), sympy.Rational(-1, 3), 4, -4)
"""Interpolation points in the order they are used: small magnitudes first, and
reciprocal pairs, which keeps the transforms well conditioned (the usual choice)."""

TABLE_PATH = Path(__file__).resolve().parent.parent / "_algorithms" / "_winograd_tables.py"
"""Where `write_table` writes the generated module."""


def interpolation_points(count: int) -> tuple:
    """The first ``count`` finite interpolation points (exact SymPy rationals).

    Args:
        count: how many points, at most ``len(POINT_ORDER)``.

    Returns:
        A tuple of distinct ``sympy.Rational``.

    Raises:
        ValueError: ``count`` is negative or exceeds the available points.

    Example:
        >>> interpolation_points(5)
        (0, 1, -1, 2, -2)
    """
    if not 0 <= count <= len(POINT_ORDER):
        raise ValueError(
            f"interpolation_points: count must be between 0 and {len(POINT_ORDER)}, "
            f"got {count}"
        )
    return tuple(sympy.Rational(p) for p in POINT_ORDER[:count])


@dataclasses.dataclass(frozen=True)
class WinogradTransform:
    """The exact transforms of ``F(m, r)``: ``y = AT [(G g) * (BT d)]``.

    Attributes:
        m: outputs per tile.
        r: kernel taps.
        points: the finite interpolation points (infinity is always the last one).
        AT: ``m x alpha`` output transform.
        G: ``alpha x r`` kernel transform.
        BT: ``alpha x alpha`` input (data) transform.
    """

    m: int
    r: int
    points: tuple
    AT: sympy.Matrix
    G: sympy.Matrix
    BT: sympy.Matrix

    @property
    def alpha(self) -> int:
        """The input tile length ``m + r - 1`` (also the number of multiplications)."""
        return self.m + self.r - 1


def _evaluation(points, n: int) -> sympy.Matrix:
    """``V_n``: rows ``[p^0 .. p^{n-1}]`` per finite point, then ``[0 .. 0 1]`` (infinity)."""
    rows = [[p**j for j in range(n)] for p in points]
    rows.append([0] * (n - 1) + [1])
    return sympy.Matrix(rows)


@functools.cache
def cook_toom(m: int, r: int, points: tuple | None = None) -> WinogradTransform:
    r"""The Cook-Toom transforms of ``F(m, r)`` from ``alpha - 1`` points and infinity.

    $$A^T = V_m^T,\quad G = D^{-1} V_r,\quad B^T = D\, V_\alpha^{-T}$$

    with ``D`` the positive diagonal scaling that makes every row of ``B^T`` a primitive
    integer vector (see the module docstring).

    Equivalent to the construction of Lavin and Gray (2016), "Fast Algorithms for
    Convolutional Neural Networks", section 4, with the points given explicitly.

    Args:
        m: outputs per tile (>= 1).
        r: kernel taps (>= 1).
        points: ``m + r - 2`` distinct finite points (default: `interpolation_points`).

    Returns:
        A `WinogradTransform` with exact rational matrices.

    Raises:
        ValueError: ``m`` or ``r`` below 1, or the wrong number of (or repeated) points.

    Example:
        >>> cook_toom(2, 3).AT.tolist()
        [[1, 1, 1, 0], [0, 1, -1, 1]]
    """
    if m < 1 or r < 1:
        raise ValueError(f"cook_toom: m and r must be >= 1, got m={m}, r={r}")
    alpha = m + r - 1
    if points is None:
        points = interpolation_points(alpha - 1)
    points = tuple(sympy.Rational(p) for p in points)
    if len(points) != alpha - 1 or len(set(points)) != len(points):
        raise ValueError(
            f"cook_toom: F({m}, {r}) needs {alpha - 1} distinct finite points, got "
            f"{points}"
        )
    AT = _evaluation(points, m).T
    G = _evaluation(points, r)
    BT = _evaluation(points, alpha).inv().T
    for k in range(alpha):
        row = [sympy.Rational(v) for v in BT.row(k)]
        den = math.lcm(*(int(v.q) for v in row))
        num = math.gcd(*(int(v * den) for v in row))
        scale = sympy.Rational(den, num)
        BT[k, :] = BT[k, :] * scale
        G[k, :] = G[k, :] / scale
    return WinogradTransform(
        m, r, points, sympy.ImmutableMatrix(AT), sympy.ImmutableMatrix(G),
        sympy.ImmutableMatrix(BT),
    )


def table_entries(max_alpha: int = MAX_ALPHA) -> tuple[tuple[int, int], ...]:
    """Every ``(m, r)`` with ``m, r >= 1`` and ``m + r - 1 <= max_alpha``, sorted.

    Example:
        >>> table_entries(3)
        ((1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1))
    """
    return tuple((m, r) for m in range(1, max_alpha + 1) for r in range(1, max_alpha + 2 - m))


# -- proofs --------------------------------------------------------------------------------


def prove_minimal_filtering(m: int, r: int, transform: WinogradTransform | None = None
                            ) -> CheckResult:
    r"""Prove ``A^T [(G g) (.) (B^T d)] = (sum_j d_{i+j} g_j)_i`` for symbolic ``d``, ``g``.

    Every entry of both sides is expanded as a polynomial in the ``alpha + r`` symbols
    with exact rational coefficients and compared; equality of the polynomials is the
    identity for all values (over any field containing the points' denominators).

    Args:
        m, r: the tile sizes.
        transform: the matrices to check (default: `cook_toom` ``(m, r)``), e.g. read
            back from the generated table.

    Returns:
        A `CheckResult`.

    Example:
        >>> prove_minimal_filtering(4, 3).holds
        True
    """
    with Timer() as timer:
        t = transform if transform is not None else cook_toom(m, r)
        alpha = m + r - 1
        d = sympy.Matrix(sympy.symbols(f"d0:{alpha}"))
        g = sympy.Matrix(sympy.symbols(f"g0:{r}"))
        fast = t.AT * (t.G * g).multiply_elementwise(t.BT * d)
        bad = []
        for i in range(m):
            direct = sum(d[i + j] * g[j] for j in range(r))
            if sympy.expand(fast[i] - direct) != 0:
                bad.append(i)
        shapes_ok = (t.AT.shape, t.G.shape, t.BT.shape) == ((m, alpha), (alpha, r),
                                                            (alpha, alpha))
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

    Args:
        m, r: tile sizes per dimension.

    Returns:
        A `CheckResult` (symbolic ``d`` of shape ``alpha_0 x alpha_1`` and ``g``).

    Example:
        >>> prove_nested((2, 1), (2, 3)).holds
        True
    """
    with Timer() as timer:
        t0, t1 = cook_toom(m[0], r[0]), cook_toom(m[1], r[1])
        a0, a1 = t0.alpha, t1.alpha
        d = sympy.Matrix(a0, a1, sympy.symbols(f"d0:{a0 * a1}"))
        g = sympy.Matrix(r[0], r[1], sympy.symbols(f"g0:{r[0] * r[1]}"))
        fast = t0.AT * (t0.G * g * t1.G.T).multiply_elementwise(t0.BT * d * t1.BT.T) * t1.AT.T
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


def check_table(path: Path | str | None = None) -> CheckResult:
    """The generated module equals a fresh rendering, and each entry's transforms prove.

    Reads the table module's text (default `TABLE_PATH`) and compares it with
    `table_source`; then evaluates its ``TABLES`` and proves `prove_minimal_filtering`
    for every entry with the matrices read back from the file.

    Example:
        >>> check_table().holds
        True
    """
    path = Path(path) if path is not None else TABLE_PATH
    with Timer() as timer:
        text = path.read_text()
        same = text == table_source()
        namespace: dict = {}
        exec(compile(text, str(path), "exec"), namespace)  # the generated module: data only
        failures = []
        for (m, r), (at, g, bt) in namespace["TABLES"].items():
            t = WinogradTransform(m, r, (), sympy.Matrix(at), sympy.Matrix(g), sympy.Matrix(bt))
            if not prove_minimal_filtering(m, r, t):
                failures.append((m, r))
    return CheckResult(
        "winograd table",
        f"{path.name} is the current rendering and every entry satisfies the identity",
        same and not failures, verified_for(f"{len(namespace['TABLES'])} entries, alpha <= "
                                            f"{MAX_ALPHA}"),
        ("identical to table_source(); " if same else "DIFFERS from table_source(); ")
        + (f"entries failing: {failures}" if failures else "every entry proved"),
        timer.elapsed,
    )


# -- rendering the table --------------------------------------------------------------------


def _literal(v) -> str:
    q = Fraction(int(sympy.Rational(v).p), int(sympy.Rational(v).q))
    return str(q.numerator) if q.denominator == 1 else f"F({q.numerator}, {q.denominator})"


def _matrix_lines(name: str, mat: sympy.Matrix, indent: str) -> list[str]:
    lines = [f"{indent}(  # {name}"]
    for i in range(mat.rows):
        lines.append(f"{indent}    (" + ", ".join(_literal(v) for v in mat.row(i)) + ",),")
    lines.append(f"{indent}),")
    return lines


def table_source(max_alpha: int = MAX_ALPHA) -> str:
    """The text of the generated module holding every ``F(m, r)`` with ``alpha <= max_alpha``.

    Returns:
        Python source defining ``POINTS`` and ``TABLES = {(m, r): (AT, G, BT)}`` with
        exact ``fractions.Fraction`` entries (integers as ints).

    Example:
        >>> "TABLES = {" in table_source(3)
        True
    """
    points = interpolation_points(max_alpha - 1)
    lines = [
        '"""Winograd F(m, r) transforms, exact (generated by jconv.symbolic.winograd; do not edit).',
        "",
        "TABLES[(m, r)] = (AT, G, BT), row-major tuples, with",
        "    y = AT [(G g) * (BT d)],   y[i] = sum_j d[i + j] g[j],  i < m,  alpha = m + r - 1,",
        "from the Cook-Toom construction with the finite points POINTS[:alpha - 1] and",
        "infinity. Regenerate with ``python -m jconv.symbolic.winograd``.",
        '"""',
        "",
        "from fractions import Fraction as F",
        "",
        "MAX_ALPHA = " + str(max_alpha),
        "POINTS = (" + ", ".join(_literal(p) for p in points) + ",)",
        "",
        "TABLES = {",
    ]
    for m, r in table_entries(max_alpha):
        t = cook_toom(m, r)
        lines.append(f"    ({m}, {r}): (")
        for name, mat in (("AT", t.AT), ("G", t.G), ("BT", t.BT)):
            lines += _matrix_lines(name, mat, " " * 8)
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_table(path: Path | str | None = None) -> Path:
    """Write `table_source` to ``path`` (default `TABLE_PATH`) and return the path.

    Example:
        >>> import tempfile, pathlib
        >>> p = write_table(pathlib.Path(tempfile.mkdtemp()) / "t.py")
        >>> p.read_text() == table_source()
        True
    """
    path = Path(path) if path is not None else TABLE_PATH
    path.write_text(table_source())
    return path


if __name__ == "__main__":  # python -m jconv.symbolic.winograd
    print(f"wrote {write_table()}")
