"""A convolution layer is a fully connected layer with a constrained weight matrix.

    fully connected H + locality + weight sharing  =  conv_matrix(V)
    1 x 1 convolution:  y[:, p] = W x[:, p]  at every pixel,  M = W (x) I
    kernel as large as the input ("valid"):  M = reshape(w)  (a dense layer)
    scalars:  x * w = x w  (the conv layer equation generalises the dense one)

Starting from a generic fully connected weight matrix, imposing locality (weights
outside the receptive field vanish) and sharing (weights depend on the offset only)
gives exactly the conv matrix; the special cases are exact matrix identities. Checked
exactly on symbol arrays, and every numeric algorithm's 1 x 1 and full-size-kernel
convs are compared with the symbolic operator by one-hot probing.
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (4, 3, "spatial length")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    from jconv import symbolic as S

    n = args.n
    proof = Proof(__doc__, f"n = {n}")
    proof.section("exact, symbol arrays")
    proof.check(S.laws.check_fc_constraints((1, 1, n + 2), (2, 1, 3), padding=1))
    proof.check(S.laws.check_fc_constraints((1, 2, n, n), (2, 1, 3, 3), padding=1, stride=2,
                                       groups=2))
    proof.check(S.laws.check_pointwise((1, 3, n, n - 1), 2))
    proof.check(S.laws.check_pointwise((1, n, n - 1, 3), 2, channels_last=True))
    proof.check(S.laws.check_full_kernel_fc((1, 2, n, 2), 3))
    proof.check(S.laws.check_scalar_conv())
    proof.section("numeric, every algorithm")
    proof.numeric(args, lambda alg: [
        S.check_operator("conv", (2, 3, n, n), (4, 3, n, n), algorithm=alg),
        S.check_operator("conv", (1, 3, n, n - 1), (2, 3, 1, 1), algorithm=alg),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
