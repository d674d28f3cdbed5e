"""Output sizes: floor((n + lo + hi - d(k-1) - 1)/s) + 1, and the transposed inverse.

    conv:            O = floor((n + lo + hi - d(k - 1) - 1) / s) + 1
    SAME padding:    O = ceil(n / s)
    conv_transpose:  n_T = (O - 1) s - lo - hi + d(k - 1) + output_padding + 1
                     = n   when output_padding = (n + lo + hi - d(k - 1) - 1) mod s
    signals:         full n + m - 1, same n, valid |n - m| + 1, circular n

Proved with symbolic sizes (division with remainder: floor(a/s) = (a - r)/s, 0 <= r < s);
verified exhaustively on a grid against counting windows; every numeric algorithm's
whole operator (output shape included) is compared with the symbolic one for strided,
dilated, SAME and transposed configurations and the signal modes.
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"max_n": (10, 6, "largest input length on the grid")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    from jconv import symbolic as S

    proof = Proof(__doc__, f"the grid n <= {args.max_n}, k <= 4, s <= 3, d <= 3, pad <= 2")
    proof.section("symbolic sizes")
    proof.check(S.laws.prove_output_size())
    proof.check(S.laws.prove_same_padding())
    proof.check(S.laws.prove_transpose_size())
    proof.section("exhaustive grid")
    proof.check(S.laws.check_output_sizes(max_n=args.max_n))
    proof.section("numeric: the whole operator (and so its output shape), every algorithm")
    proof.numeric(args, lambda alg: [
        S.check_operator("conv", (1, 1, 9), (1, 1, 3), algorithm=alg, stride=2, padding=1,
                         dilation=2),
        S.check_operator("conv", (1, 2, 7, 6), (2, 2, 3, 2), algorithm=alg, stride=(2, 3),
                         padding="same"),
        S.check_operator("conv_transpose", (1, 2, 4), (2, 1, 3), algorithm=alg, stride=3,
                         padding=1, output_padding=2),
        S.check_operator("convolve", (7,), (3,), algorithm=alg, mode="valid"),
        S.check_operator("convolve", (4, 7), (2, 3), algorithm=alg, mode="same"),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
