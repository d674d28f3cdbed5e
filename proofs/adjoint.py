"""The backward passes are the transposes: VJP in x = M^T, VJP in w = A^T, conv_transpose = M^T.

    vec(conv(x, w)) = M(w) vec(x) = A(x) vec(w)
    d/dx <conv(x, w), dy> = M(w)^T dy      (a conv of the stride-spread dy with the
                                            flipped, channel-swapped kernel)
    d/dw <conv(x, w), dy> = A(x)^T dy      (a conv of x with dy, stride and dilation
                                            exchanged)
    conv_transpose(y, w) = M(w)^T y        (output_padding = the unreached remainder)

Proved for all sizes by comparing the Iverson brackets of the defining sums (SymPy
change of index); checked exactly with symbol arrays, including the padding
bookkeeping; and for every numeric algorithm, in 1-D, 2-D and 3-D, jconv.conv_input_grad,
jconv.conv_kernel_grad, jconv.conv_transpose and jax.vjp of jconv.conv are recovered
by one-hot probing and compared with the transposed symbolic matrices entry by entry.
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {"n": (7, 5, "spatial length"), "stride": (2, 2, "stride")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    from jconv import symbolic as S

    n, s = args.n, args.stride
    proof = Proof(__doc__, f"n = {n}, stride = {s}")
    proof.section("symbolic sizes")
    proof.check(S.prove_adjoint())
    proof.check(S.laws.prove_transpose_size())
    proof.section("exact, symbol arrays")
    one_d = dict(stride=s, padding=1, groups=2)
    proof.check(S.laws.check_adjoint((1, 4, n), (4, 2, 3), **one_d))
    proof.check(S.laws.check_adjoint((2, 2, n - 1, n - 2), (2, 2, 3, 2), stride=(s, 1),
                                padding=((1, 0), (0, 1)), dilation=(1, 2)))
    proof.section("numeric: every algorithm, every pass, 1-D, 2-D and 3-D")
    cases = [
        ((1, 4, n), (4, 2, 3), one_d),
        ((1, 2, n - 2, n - 3), (2, 1, 3, 2), dict(stride=(s, 1), padding=1, groups=2)),
        ((1, 2, 4, 3, 3), (2, 2, 2, 2, 2), dict(stride=(s, 1, 1), padding=((1, 0), 0, 1))),
    ]
    proof.numeric(args, lambda alg: [
        S.check_operator(op, x_shape, w_shape, algorithm=alg, **kw)
        for x_shape, w_shape, kw in cases
        for op in ("input_grad", "kernel_grad", "transpose_adjoint", "vjp")
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
