"""A walk through convolution as linear algebra, with exact SymPy expressions.

Four pictures, each printed and then checked with plain SymPy:

1. A 3x3 input and two 2x2 kernels: the layer is an 8 x 9 matrix ``M`` with
   ``vec(y) = M vec(x)``, built by ``conv_matrix``; ``kernel_matrix`` is the same layer as
   a matrix acting on the kernel. jconv's numeric ``conv`` agrees with both.
2. Signal convolution is commutative: ``a * b = b * a``, entry by entry, for given
   lengths, and for all lengths with ``prove_commutativity``.
3. The convolution theorem: a circular convolution is a circulant matrix ``C``, and the
   DFT matrix ``F`` diagonalises it, ``F C F^-1 = diag(F c)``.
4. Groups: a grouped convolution's matrix is block diagonal, one block per group.

Run: python examples/symbolic_walkthrough.py   (needs sympy)
"""

import jax.numpy as jnp
import numpy as np
import sympy

import jconv
from jconv.symbolic import (
    circulant,
    conv,
    conv_matrix,
    convolve,
    dft_matrix,
    group_block_matrix,
    kernel_matrix,
    prove_commutativity,
    prove_convolution_theorem,
    render_pattern,
    symbols,
)


def column(array) -> sympy.Matrix:
    """A SymPy array flattened in C order, as a column."""
    return sympy.Matrix(list(sympy.flatten(array.tolist())))


def worked_example() -> None:
    print("1. A 1 x 3 x 3 input and a 2 x 1 x 2 x 2 kernel as a matrix")
    a, b, c, d, e, f, g, h = sympy.symbols("a:h")
    w = sympy.Array([[[[a, b], [c, d]]], [[[e, f], [g, h]]]])           # (C_out, C_in, 2, 2)
    x = symbols("x", (1, 1, 3, 3))
    M = conv_matrix(w, (1, 3, 3))
    print(render_pattern(M, row_blocks=[4, 4], col_blocks=[3, 3, 3], entries=True))
    y = conv(x, w)                                                      # (1, 2, 2, 2), the defining sum
    assert M.shape == (8, 9)
    assert sympy.expand(M * column(x) - column(y)) == sympy.zeros(8, 1)
    A = kernel_matrix(x[0], (2, 1, 2, 2))                                  # the same map, linear in w
    assert sympy.expand(A * column(w) - column(y)) == sympy.zeros(8, 1)
    print(f"   y[0, 0, 0, 0] = {y[0, 0, 0, 0]}")
    print("   M vec(x) = A(x) vec(w) = vec(conv(x, w)): checked")

    # the numbers: substitute integers and compare with jconv's numeric convolution
    xs = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    ws = np.arange(1.0, 9.0).reshape(2, 1, 2, 2)
    values = dict(zip([a, b, c, d, e, f, g, h], ws.ravel()))
    exact = np.array(M.subs(values) * sympy.Matrix(xs.ravel()), dtype=float).reshape(1, 2, 2, 2)
    numeric = np.asarray(jconv.conv(jnp.asarray(xs), jnp.asarray(ws)))
    print(f"   with x = 1..9 and w = 1..8, jconv.conv gives {numeric.ravel().tolist()}")
    np.testing.assert_allclose(numeric, exact, rtol=1e-6)


def commutativity() -> None:
    print("\n2. Convolution commutes")
    a, b = symbols("a", (4,)), symbols("b", (3,))
    ab, ba = convolve(a, b), convolve(b, a)
    print(f"   (a * b)[2] = {ab[2]}")
    assert all(sympy.expand(p - q) == 0 for p, q in zip(ab, ba))
    print("   a * b == b * a for lengths 4 and 3, every entry")
    proof = prove_commutativity()
    assert proof.holds
    print(f"   for all lengths ({proof.scope}): {proof.statement}")


def convolution_theorem(n: int = 4) -> None:
    print(f"\n3. The convolution theorem, n = {n}")
    c, a = symbols("c", (n,)), symbols("a", (n,))
    C = circulant(c)
    print(render_pattern(C, entries=True))
    circular = convolve(a, c, mode="circular")
    assert sympy.expand(C * column(a) - column(circular)) == sympy.zeros(n, 1)
    print("   C a = a (*) c, the circular convolution: checked")
    F, F_inv = dft_matrix(n), dft_matrix(n, inverse=True)
    assert sympy.simplify(F * F_inv) == sympy.eye(n)
    D = sympy.simplify(F * C * F_inv)
    assert D.is_diagonal()
    assert sympy.expand(sympy.Matrix(D.diagonal()).T - F * column(c)) == sympy.zeros(n, 1)
    print("   F C F^-1 is diagonal, and its diagonal is F c (the DFT of the kernel):")
    print(f"   diag = {list(D.diagonal())}")
    proof = prove_convolution_theorem()
    assert proof.holds
    print(f"   for every n ({proof.scope}): {proof.statement}")


def groups() -> None:
    print("\n4. Groups are blocks: 4 -> 4 channels, 2 groups, a length-5 signal, kernel 3")
    w = symbols("w", (4, 2, 3))                                         # (C_out, C_in / G, k)
    B = group_block_matrix(w, (4, 5), groups=2)
    M = conv_matrix(w, (4, 5), groups=2)
    assert sympy.Matrix(B.as_explicit()) == sympy.Matrix(M)
    print(render_pattern(B))
    rows, cols = M.shape
    off = [M[i, j] for i in range(rows) for j in range(cols)
           if (i < rows // 2) != (j < cols // 2)]
    assert all(v == 0 for v in off)
    print(f"   the {rows} x {cols} matrix is diag(M1, M2): every entry outside the two blocks is 0")


def main() -> None:
    worked_example()
    commutativity()
    convolution_theorem()
    groups()
    print("\nall checks passed")


if __name__ == "__main__":
    main()
