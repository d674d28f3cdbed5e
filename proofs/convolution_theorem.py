"""The convolution theorem: the DFT diagonalises every circulant.

    F P F^-1 = diag(w^j),  w = exp(-2 pi i / n),  P the cyclic shift
    F C(c) F^-1 = diag(F c)         for every circulant C(c) = sum_k c_k P^k
    F (a ⊛ b) = (F a) ⊙ (F b),  a ⊛ b = F^-1 (F a ⊙ F b)
    a * b = pad(a) ⊛ pad(b)         zero-padded to n + m - 1

Proved for every n from DFT orthogonality (SymPy sums the geometric series with
symbolic n); checked in exact arithmetic (the cyclotomic field QQ(w) and polynomials
modulo x^n - 1, never simplify) for an even and an odd n; every numeric algorithm's
circular convolution, at both lengths, is compared with the defining sum by one-hot
probing (so the theorem proved for the definition holds for it).
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (8, 4, "even length"), "odd": (5, 3, "odd length")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    from jconv import symbolic as S

    n, odd = args.n, args.odd
    proof = Proof(__doc__, f"n = {n} and n = {odd}")
    proof.section("symbolic sizes")
    proof.check(S.prove_convolution_theorem())
    proof.section("exact arithmetic")
    for size in (n, odd):
        proof.check(S.laws.check_circulant_diagonalization(size))
        proof.check(S.laws.check_convolution_theorem(size))
    proof.check(S.laws.check_linear_via_circular(n // 2 + 1, 3))
    proof.section("numeric: circular convolution, every algorithm")
    proof.numeric(args, lambda alg: [
        S.check_operator("convolve", (n,), (n,), mode="circular", algorithm=alg),
        S.check_operator("convolve", (odd,), (odd,), mode="circular", algorithm=alg),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
