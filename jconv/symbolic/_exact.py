"""Exact comparison of polynomial expressions and exact cyclotomic arithmetic.

``simplify`` is neither fast nor reliable for these identities (it can leave
unreduced roots of unity, and ``.equals`` can answer None), so identities are decided
in exact domains instead: polynomials over ZZ (or QQ) in the symbols that occur, and
matrices over the cyclotomic field QQ(zeta_n).
"""

from __future__ import annotations

import sympy
from sympy.polys.matrices import DomainMatrix
from sympy.polys.polyerrors import CoercionFailed, GeneratorsError
from sympy.polys.rings import ring

from ._reference import as_object_array


def flat(a) -> list:
    """The entries of a matrix, or of an array in C order, as a list."""
    if isinstance(a, sympy.MatrixBase):
        return list(a)
    return list(as_object_array(a, "jconv.symbolic", "array").reshape(-1))


def _conjugates_as_symbols(exprs):
    """Replace each ``conjugate(s)`` of a symbol by a fresh symbol (a polynomial generator)."""
    exprs = [sympy.sympify(e) for e in exprs]
    atoms = set()
    for e in exprs:
        atoms |= e.atoms(sympy.conjugate)
    if not atoms:
        return exprs
    mapping = {c: sympy.Symbol(f"conj({c.args[0]})") for c in atoms}
    return [e.xreplace(mapping) for e in exprs]


def first_difference(a, b):
    r"""Index of the first entry where two arrays of polynomials differ, or None.

    $$\min\{k : a_k - b_k \ne 0 \text{ in } \mathbb{Z}[\text{symbols}]\}$$

    Entries are compared as elements of ZZ[symbols] (QQ[symbols] when a coefficient is
    not an integer; ``conjugate(s)`` counts as a symbol of its own): two expressions are
    equal exactly when their difference expands to zero, decided without ``simplify``.
    For matrices only the positions where either has a nonzero entry are compared.

    Equivalent to ``[k for k in range(n) if sympy.expand(a[k] - b[k]) != 0][:1]``, faster.

    Args:
        a, b: SymPy arrays, matrices, nested lists or NumPy object arrays.

    Returns:
        The C-order index of the first difference, -1 when the shapes differ, or None
        when they are equal.

    Example:
        >>> import sympy
        >>> x, y = sympy.symbols("x y")
        >>> first_difference(sympy.Array([(x + y)**2, x]), sympy.Array([x**2 + 2*x*y + y**2, y]))
        1
    """
    if isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase):
        if a.shape != b.shape:
            return -1
        da, db = a.todok(), b.todok()  # compare only where either has a nonzero entry
        keys = sorted(set(da) | set(db))
        found = _difference([da.get(k, 0) for k in keys], [db.get(k, 0) for k in keys])
        return None if found is None else keys[found][0] * a.cols + keys[found][1]
    fa, fb = flat(a), flat(b)
    shape_a = a.shape if hasattr(a, "shape") else None
    shape_b = b.shape if hasattr(b, "shape") else None
    if len(fa) != len(fb) or (shape_a is not None and shape_b is not None
                              and tuple(shape_a) != tuple(shape_b)):
        return -1
    return _difference(fa, fb)


def _difference(fa: list, fb: list):
    """First index where two equally long lists of expressions differ, or None."""
    both = _conjugates_as_symbols(fa + fb)
    xs, ys = both[: len(fa)], both[len(fa):]
    gens = set()
    for e in (*xs, *ys):
        gens |= sympy.sympify(e).free_symbols
    gens = sorted(gens, key=str)
    if not gens:
        for k, (x, y) in enumerate(zip(xs, ys)):
            if sympy.nsimplify(sympy.sympify(x) - sympy.sympify(y)) != 0:
                return k
        return None
    for domain in (sympy.ZZ, sympy.QQ):
        R = ring(gens, domain)[0]
        try:
            for k, (x, y) in enumerate(zip(xs, ys)):
                if R.from_expr(x) != R.from_expr(y):
                    return k
            return None
        except (CoercionFailed, GeneratorsError, ValueError):
            continue
    for k, (x, y) in enumerate(zip(xs, ys)):  # not polynomial: expand as a last resort
        if sympy.expand(x - y) != 0:
            return k
    return None


def arrays_equal(a, b) -> bool:
    r"""True when two arrays (or matrices) of polynomial expressions are equal exactly.

    $$a = b \iff a_k - b_k = 0 \text{ in } \mathbb{Z}[\text{symbols}] \ \forall k$$

    Equivalent to ``first_difference(a, b) is None``.

    Args:
        a, b: SymPy arrays, matrices, nested lists or NumPy object arrays.

    Returns:
        A bool.

    Example:
        >>> import sympy
        >>> x = sympy.Symbol("x")
        >>> arrays_equal(sympy.Array([x * (x + 1)]), sympy.Array([x**2 + x]))
        True
    """
    return first_difference(a, b) is None


class Cyclotomic:
    r"""Exact arithmetic in QQ(zeta), zeta = exp(-2 pi i / n): DFT matrices as DomainMatrix.

    $$F_{jk} = \zeta^{jk} \in \mathbb{Q}(\zeta),\qquad F^{-1}_{jk} = \zeta^{-jk}/n$$

    The field is ``QQ.algebraic_field(exp(-2*pi*I/n))`` (its minimal polynomial is the
    cyclotomic polynomial), so matrix products are exact and equality is decided
    without ``simplify``.

    Equivalent to ``numpy.fft.fft(numpy.eye(n))`` in exact arithmetic.

    Args:
        n: the size (>= 1).

    Raises:
        ValueError: ``n < 1``.

    Example:
        >>> K = Cyclotomic(5)
        >>> (K.dft() * K.idft() - K.eye()).is_zero_matrix
        True
    """

    def __init__(self, n: int):
        if int(n) < 1:
            raise ValueError(f"jconv.symbolic.Cyclotomic: n must be >= 1, got {n}")
        self.n = n
        self.zeta = sympy.exp(-2 * sympy.pi * sympy.I / n)
        self.field = sympy.QQ.algebraic_field(self.zeta)
        K = self.field
        generator = K.from_sympy(self.zeta)
        self.powers = [K.one]
        for _ in range(n - 1):
            self.powers.append(self.powers[-1] * generator)

    def matrix(self, rows) -> DomainMatrix:
        """A DomainMatrix over the field from rows of field elements."""
        return DomainMatrix(rows, (len(rows), len(rows[0]) if rows else 0), self.field)

    def dft(self) -> DomainMatrix:
        """``F[j, k] = zeta^(j k)``."""
        n, p = self.n, self.powers
        return self.matrix([[p[(j * k) % n] for k in range(n)] for j in range(n)])

    def idft(self) -> DomainMatrix:
        """``F^-1[j, k] = zeta^(-j k) / n``."""
        n, p = self.n, self.powers
        inv_n = self.field.convert(sympy.Rational(1, n))
        return self.matrix([[p[(-j * k) % n] * inv_n for k in range(n)] for j in range(n)])

    def eye(self) -> DomainMatrix:
        """The identity."""
        return DomainMatrix.eye(self.n, self.field)

    def from_int_matrix(self, M) -> DomainMatrix:
        """A SymPy integer matrix converted to the field."""
        K = self.field
        return self.matrix([[K.convert(int(M[i, j])) for j in range(M.cols)]
                            for i in range(M.rows)])

    def diag_powers(self, k: int = 1) -> DomainMatrix:
        """``diag(zeta^(j k))``."""
        n, p = self.n, self.powers
        return DomainMatrix.diag([p[(j * k) % n] for j in range(n)], self.field, (n, n))


def group_ring_dft(values, n: int):
    """The DFT of a vector of polynomials, exactly, in ZZ[symbols][x]/(x^n - 1).

    Entry ``j`` is the coefficient list of ``sum_k values[k] x^(j k mod n)``: the DFT
    at the root of unity ``x``, kept as a polynomial in ``x`` so that no cyclotomic
    reduction is needed to compare (equality here implies equality at every n-th root
    of unity, the primitive one included).
    """
    out = []
    for j in range(n):
        coeffs = [[] for _ in range(n)]
        for k, v in enumerate(values):
            coeffs[(j * k) % n].append(v)
        out.append([sympy.Add(*c) for c in coeffs])
    return out


def group_ring_product(u, v, n: int):
    """Product of two coefficient lists in ``R[x]/(x^n - 1)``."""
    coeffs = [[] for _ in range(n)]
    for i, a in enumerate(u):
        if a == 0:
            continue
        for k, b in enumerate(v):
            if b != 0:
                coeffs[(i + k) % n].append(a * b)
    return [sympy.Add(*c) for c in coeffs]
