"""A grouped convolution is G independent convolutions: its matrix is block diagonal.

    M_G = diag(M_1, ..., M_G),   conv_G(x, w) = concat_g conv(x_g, w_g)
    #weights = C_out * C_in / G * prod(k)  (+ C_out biases)

The channel blocks of the conv matrix are single-channel correlation (Toeplitz)
matrices; groups zero every block outside the diagonal groups (depthwise: G = C_in).
The parameter count is proved with symbolic sizes; the block structure is checked
exactly on symbol arrays and drawn as text (and as a PNG with --png FILE); every numeric
algorithm's grouped and depthwise convs are compared with the symbolic operator entry
by entry (a wrong group-to-channel map fails).
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (5, 4, "spatial length"), "groups": (2, 2, "number of groups")}


def main(argv=None) -> int:
    p = parser(__doc__, SIZES)
    p.add_argument("--png", default=None, help="also draw the block pattern to this PNG file")
    args = parse(p, argv)
    from jconv import symbolic as S

    n, G = args.n, args.groups
    proof = Proof(__doc__, f"n = {n}, groups = {G}")
    proof.section("symbolic sizes")
    proof.check(S.prove_parameter_count())
    proof.section("exact, symbol arrays")
    x1, w1 = (1, 2 * G, n), (3 * G, 2, 3)
    proof.check(S.laws.check_groups(x1, w1, groups=G, padding=1))
    x2, w2 = (1, G, n, n), (2 * G, 1, 3, 3)  # depthwise, channel multiplier 2
    proof.check(S.laws.check_groups(x2, w2, groups=G, padding=1, stride=2))
    W = S.symbols("w", (2 * G, 1, 2))
    B = S.conv_block_matrix(W, (G, n), groups=G)
    print(f"\n  the depthwise kernel matrix ({2 * G} x {G} channel blocks of "
          f"{B.blocks[0, 0].shape} Toeplitz matrices; zero blocks off the diagonal):")
    print("\n".join("    " + line for line in S.render_pattern(B).splitlines()))
    if args.png:
        S.plot_pattern(S.conv_block_matrix(S.symbols("w", (2 * G, 2, 3, 3)), (2 * G, n, n),
                                           groups=G, padding=1),
                       args.png, title=f"grouped conv matrix, groups={G}")
        print(f"  wrote {args.png}")
    proof.section("numeric: grouped conv, every algorithm")
    proof.numeric(args, lambda alg: [
        S.check_operator("conv", x1, w1, algorithm=alg, groups=G, padding=1),
        S.check_operator("conv", x2, w2, algorithm=alg, groups=G, padding=1, stride=2),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
