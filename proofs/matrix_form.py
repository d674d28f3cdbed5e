"""A convolution layer is a matrix: vec(conv(x, w)) = M(w) vec(x) = A(x) vec(w).

For the 1 x 3 x 3 input and the 2 x 1 x 2 x 2 kernel [[a, b], [c, d]], [[e, f], [g, h]]
M is the 8 x 9 matrix whose first row is  a b 0 c d 0 0 0 0  (the worked example). In
general M is a C_out x C_in block matrix of (doubly) Toeplitz blocks, circulant for
circular padding. The matrices are built sparsely from the defining sums and checked
against sympy.linear_eq_to_matrix of the reference outputs; then every numeric
algorithm's conv is recovered by one-hot probing in x and w and compared with M entry
by entry (complete at each shape), for strides, paddings and padding modes, dilation,
groups, bias, channels-last layout, and 2-D and 3-D inputs (circular padding is
probed in translation_equivariance.py).
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (5, 4, "spatial length")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    import sympy

    from jconv import symbolic as S

    n = args.n
    proof = Proof(__doc__, f"n = {n}")
    proof.section("the worked example")
    proof.check(S.laws.check_worked_example())
    a, b, c, d, e, f, g, h = sympy.symbols("a:h")
    M = S.conv_matrix([[[[a, b], [c, d]]], [[[e, f], [g, h]]]], (1, 3, 3))
    print("\n".join("    " + line for line in S.render_pattern(
        M, row_blocks=[4, 4], col_blocks=[3, 3, 3], entries=True).splitlines()))
    proof.section("exact, symbol arrays: M and A built two ways")
    configs = [
        ((1, 4, n, n - 1), (4, 2, 3, 2), dict(stride=(2, 1), padding=1, dilation=(1, 2),
                                             groups=2)),
        ((2, n - 1, n, 2), (3, 2, 2, 2), dict(padding="same", padding_mode="reflect",
                                             channels_last=True)),
        ((1, 1, 3, 3, 3), (2, 1, 2, 2, 2), dict(padding=((1, 0), (0, 1), (1, 1)),
                                                padding_mode="replicate")),
    ]  # circular padding: translation_equivariance.py
    for xs, ws, kw in configs:
        proof.check(S.laws.check_matrix_forms(xs, ws, **kw))
    proof.check(S.laws.check_matrix_forms((1, 2, n + 1), (2, 2, 3), padding=1,
                                     padding_mode="circular"))
    proof.section("numeric: one-hot probing against M, every algorithm")
    proof.numeric(args, lambda alg: [
        S.check_operator("conv", xs, ws, algorithm=alg, bias=i == 0, integer=i == 0, **kw)
        for i, (xs, ws, kw) in enumerate(configs)
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
