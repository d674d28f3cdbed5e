"""Convolution is associative; two stacked conv layers are one layer with a composed kernel.

    (a * b) * c = a * (b * c)
    conv(conv(x, w1), w2) = conv(x, K),   K[o, c] = sum_m w2[o, m] * w1[m, c]

(stride 1, no padding; the receptive field grows to k1 + k2 - 1). Proved for all
finitely supported sequences by exchanging the two sums and substituting i = l + j
(SymPy's Sum.reorder and Sum.change_index); checked exactly on symbol arrays (full and
circular, 1-D and 2-D); the numeric convolve and conv of every algorithm equal the
definitions the identities are proved for (one-hot probing).
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (6, 4, "length of a")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)

    from jconv import symbolic as S

    n = args.n
    proof = Proof(__doc__, f"n = {n}")
    proof.section("symbolic sizes")
    proof.check(S.prove_associativity())
    proof.section("exact, symbol arrays")
    proof.check(S.laws.check_associativity((n,), (n - 1,), (n - 2,)))
    proof.check(S.laws.check_associativity((n,), (n,), (n,), "circular"))
    proof.check(S.laws.check_associativity((3, 3), (2, 2), (2, 1)))
    proof.check(S.laws.check_layer_composition((1, 2, n + 2), (2, 2, 3), (2, 2, 2)))
    proof.check(S.laws.check_layer_composition((1, 1, 5, 5), (2, 1, 2, 2), (1, 2, 2, 2)))
    proof.section("numeric: the operators the laws are about equal their definitions")
    proof.numeric(args, lambda alg: [
        S.check_operator("convolve", (n,), (n - 1,), algorithm=alg),
        S.check_operator("conv", (1, 2, n + 2), (2, 2, 3), algorithm=alg),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
