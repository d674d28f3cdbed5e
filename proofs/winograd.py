"""Winograd minimal filtering F(m, r) computes the correlation exactly, with alpha products.

    y = A^T [ (G g) * (B^T d) ],      y[i] = sum_{j<r} d[i + j] g[j],   i < m,

for every input tile d (alpha = m + r - 1 samples) and kernel g (r taps), where A^T, G,
B^T are the Cook-Toom transforms from the points 0, 1, -1, 2, -2, 1/2, -1/2 (and
infinity). Nested per dimension, A_0^T [(G_0 g G_1^T) * (B_0^T d B_1)] A_1 is the 2-D
correlation.

Proved for every transform the numeric ``winograd`` algorithm can run (the very
Fraction tables it builds, alpha <= 8) by expanding both sides as polynomials in symbolic
d and g with exact rational coefficients, and the float64 matrices it multiplies by are
checked to be those tables rounded once; the nesting is proved the same way for several
2-D tiles. Then the numeric algorithm (tiles, kernel chunks, GEMM) is compared with the
direct sum on integer data in float64 (every result must round to the exact integer),
and its whole bilinear operator is recovered by one-hot probing for the forward pass and
both VJPs.
"""

from __future__ import annotations

import sys

from _common import Proof, parse, parser

SIZES = {
    "max_alpha": (8, 5, "largest tile m + r - 1 proved symbolically"),
    "n": (11, 7, "spatial size of the numeric checks"),
}


def _integer_check(shape_x, shape_w, padding, seed):
    """Winograd on integer data (float64) against the exact int64 direct sum."""
    import time

    import jax
    import numpy as np

    import jconv
    from jconv.symbolic import CheckResult

    start = time.perf_counter()
    jax.config.update("jax_enable_x64", True)
    r = np.random.default_rng(seed)
    x = r.integers(-9, 10, shape_x)
    w = r.integers(-9, 10, shape_w)
    nd = len(shape_x) - 2
    xp = np.pad(x, [(0, 0), (0, 0), *[(padding, padding)] * nd])
    k = shape_w[2:]
    out = tuple(xp.shape[2 + i] - k[i] + 1 for i in range(nd))
    exact = np.zeros((shape_x[0], shape_w[0], *out), np.int64)
    for t in np.ndindex(*k):
        window = xp[(slice(None), slice(None), *(slice(t[i], t[i] + out[i]) for i in range(nd)))]
        exact += np.einsum("nc...,oc->no...", window, w[(slice(None), slice(None), *t)])
    got = np.asarray(jconv.conv(x.astype(np.float64), w.astype(np.float64), padding=padding,
                                algorithm="winograd"))
    err = np.abs(got - exact).max()
    holds = bool(np.array_equal(np.rint(got).astype(np.int64), exact) and err < 1e-6)
    return CheckResult(
        f"winograd integer data x{shape_x} w{shape_w}",
        "the numeric winograd conv rounds to the exact integer direct sum",
        holds, CheckResult.verified_for(f"x {shape_x}, w {shape_w}, padding {padding}"),
        f"max |winograd - exact| = {err:.2e} over {exact.size} outputs (float64)",
        time.perf_counter() - start,
    )


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    from jconv import symbolic as S
    from jconv.symbolic import winograd as W

    amax, n = args.max_alpha, args.n
    proof = Proof(__doc__, f"alpha <= {amax}, numeric n = {n}")
    proof.section(f"every F(m, r) the numeric algorithm runs, alpha <= {amax} (symbolic d, g)")
    proof.check(W.check_table(amax))
    proof.section("nesting over two dimensions")
    for m, r in (((2, 2), (3, 3)), ((4, 1), (3, 2)), ((2, 3), (2, 2))):
        if max(mi + ri - 1 for mi, ri in zip(m, r)) <= amax:
            proof.check(W.prove_nested(m, r))
    proof.section("numeric winograd vs the direct sum, integer data in float64")
    proof.check(_integer_check((2, 3, n), (4, 3, 3), 1, 0))
    proof.check(_integer_check((1, 2, n, n - 1), (3, 2, 3, 3), 1, 1))
    proof.check(_integer_check((1, 2, n, n), (2, 2, 5, 2), 0, 2))
    proof.check(_integer_check((2, 1, 5, 4, n), (2, 1, 2, 3, 3), 1, 3))
    proof.section("numeric winograd, whole operator by one-hot probing (forward and VJPs)")
    small = max(5, n - 4)
    proof.check(S.check_operator("conv", (1, 2, small, small), (2, 2, 3, 3), algorithm="winograd",
                             padding=1))
    proof.check(S.check_operator("conv", (1, 4, small), (4, 2, 5), algorithm="winograd", groups=2,
                             padding=((3, -1),)))
    proof.check(S.check_operator("input_grad", (1, 2, small, small - 1), (2, 2, 3, 2),
                                   algorithm="winograd", padding=1))
    proof.check(S.check_operator("kernel_grad", (2, 2, small + 3), (2, 2, 3), algorithm="winograd"))
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
