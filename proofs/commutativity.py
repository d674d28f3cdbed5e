"""Convolution is commutative; cross-correlation is not, and the flip relates them.

    a * b = b * a                         (full, circular; any rank)
    a ⋆ b ≠ b ⋆ a,   (a ⋆ b)[k] = conj((b ⋆ a)[n + m - 2 - k])
    a ⋆ b = a * conj(flip(b))             (every mode; circular: lagged by m - 1)

Commutativity and the flip identity are proved for all lengths by a change of
summation index (SymPy's Sum.change_index); then checked exactly on symbol arrays; and
every numeric algorithm's convolve and correlate are compared with the defining sums
by one-hot probing (a convolution that forgets to flip the kernel fails).
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (7, 4, "length of a"), "m": (3, 2, "length of b")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    from jconv import symbolic as S

    n, m = args.n, args.m
    proof = Proof(__doc__, f"n = {n}, m = {m}")
    proof.section("symbolic sizes")
    proof.check(S.prove_commutativity())
    proof.check(S.prove_flip_identity())
    proof.section("exact, symbol arrays")
    proof.check(S.laws.check_commutativity((n,), (m,)))
    proof.check(S.laws.check_commutativity((n, m), (m, 2)))
    proof.check(S.laws.check_commutativity((n,), (n,), "circular"))
    proof.check(S.laws.check_correlation_not_commutative((n,), (m,)))
    for mode in ("full", "same", "valid", "circular"):
        proof.check(S.laws.check_flip_identity((n,), (m,), mode))
    proof.check(S.laws.check_flip_identity((n, m + 1), (m, 2), "same"))
    proof.section("numeric: convolve/correlate equal the defining sums, every algorithm")
    proof.numeric(args, lambda alg: [
        S.check_operator("convolve", (n,), (m,), mode="full", algorithm=alg),
        S.check_operator("correlate", (n,), (m,), mode="circular", algorithm=alg),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
