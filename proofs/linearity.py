"""Convolution is bilinear: linear in the input and linear in the kernel.

    conv(a x + b u, w) = a conv(x, w) + b conv(u, w)
    conv(x, a w + b v) = a conv(x, w) + b conv(x, v)

for the conv layer (any stride, padding and padding mode, dilation, groups), the
transposed conv layer and signal convolution. Proved for all sizes from the defining
sum with symbolic sizes (SymPy distributes the sums); checked exactly on symbol arrays
at the given sizes; and every numeric algorithm's conv and convolve are checked to be
bilinear and equal to the symbolic operator entry by entry (one-hot probing; the
numeric conv_transpose is probed in adjoint.py).
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (6, 4, "spatial length"), "k": (3, 2, "kernel length")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    from jconv import symbolic as S

    n, k = args.n, args.k
    proof = Proof(__doc__, f"n = {n}, k = {k}")
    proof.section("symbolic sizes")
    proof.check(S.prove_linearity())
    proof.section("exact, symbol arrays")
    layer = dict(stride=2, padding=1, groups=2, padding_mode="reflect")
    proof.check(S.laws.check_linearity((1, 4, n), (4, 2, k), **layer))
    proof.check(S.laws.check_linearity((1, 2, n, n - 1), (2, 2, k, k), padding="same", dilation=(1, 2)))
    proof.check(S.laws.check_linearity((1, 2, n - 2), (2, 1, k), op="conv_transpose", stride=2,
                                  output_padding=1))
    proof.check(S.laws.check_linearity((n,), (k,), op="convolve", mode="same"))
    proof.section("numeric: bilinear and equal to the symbolic operator, every algorithm")
    proof.numeric(args, lambda alg: [
        S.check_operator("conv", (1, 4, n), (4, 2, k), algorithm=alg, **layer),
        S.check_operator("convolve", (n,), (k,), mode="same", algorithm=alg),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
