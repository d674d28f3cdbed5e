"""Convolution commutes with translation: exactly if circular, away from the border if not.

    conv(shift(x, tau s)) = shift(conv(x), tau)

With circular padding the layer matrix is (block) circulant, a polynomial in the shift,
so it commutes with every cyclic shift (a multiple of the stride). With zero padding
the identity holds on Z, hence at every output whose window stays inside the input;
border outputs differ. Proved for all sizes by SymPy's reduction of the nested Mod
indices; checked exactly on symbol arrays in 1-D and 2-D; every numeric algorithm's
circular layers (1-D, and 2-D with stride 2) are compared with the symbolic
(circulant) operator entry by entry.
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (8, 6, "spatial length"), "shift": (2, 2, "input shift (a multiple of 2)")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    from jconv import symbolic as S

    n, t = args.n, args.shift
    proof = Proof(__doc__, f"n = {n}, shift = {t}")
    proof.section("symbolic sizes")
    proof.check(S.prove_translation_equivariance())
    proof.section("exact, symbol arrays")
    circ = dict(padding="same", padding_mode="circular")
    proof.check(S.laws.check_translation_equivariance((1, 2, n), (2, 2, 3), (t,), **circ))
    proof.check(S.laws.check_translation_equivariance((1, 1, n, n), (1, 1, 3, 3), (t, t), stride=2,
                                                 padding=1, padding_mode="circular"))
    proof.check(S.laws.check_translation_equivariance((1, 1, n + 2), (1, 1, 3), (t,), padding=1))
    proof.check(S.laws.check_translation_equivariance((1, 1, n, n - 1), (1, 1, 3, 2), (t, 1),
                                                 padding=1))
    proof.section("numeric, every algorithm")
    proof.numeric(args, lambda alg: [
        S.check_operator("conv", (1, 1, n, n), (2, 1, 3, 3), algorithm=alg, stride=2,
                         padding=1, padding_mode="circular"),
        S.check_operator("conv", (1, 2, n), (2, 2, 3), algorithm=alg, **circ),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
