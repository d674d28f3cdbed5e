"""Convolution is associative; two stacked conv layers are one layer with a composed kernel.

    (a * b) * c = a * (b * c)
    conv(conv(x, w1), w2) = conv(x, K),   K[o, c] = sum_m w2[o, m] * w1[m, c]

(stride 1, no padding; the receptive field grows to k1 + k2 - 1). Proved for all
finitely supported sequences by exchanging the two sums and substituting i = l + j
(SymPy's Sum.reorder and Sum.change_index); checked exactly on symbol arrays (full and
circular, 1-D and 2-D); every numeric algorithm is checked for both identities.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import Proof, parse, parser

SIZES = {"n": (6, 4, "length of a")}


def main(argv=None) -> int:
    args = parse(parser(__doc__, SIZES), argv)
    import jax.numpy as jnp

    import jconv
    from jconv import symbolic as S

    n = args.n
    proof = Proof(__doc__, f"n = {n}")
    proof.section("symbolic sizes")
    proof.check(S.prove_associativity())
    proof.section("exact, symbol arrays")
    proof.check(S.check_associativity((n,), (n - 1,), (n - 2,)))
    proof.check(S.check_associativity((n,), (n,), (n,), "circular"))
    proof.check(S.check_associativity((3, 3), (2, 2), (2, 1)))
    proof.check(S.check_layer_composition((1, 2, n + 2), (2, 2, 3), (2, 2, 2)))
    proof.check(S.check_layer_composition((1, 1, 5, 5), (2, 1, 2, 2), (1, 2, 2, 2)))
    proof.section("numeric, every algorithm")
    rng = np.random.default_rng(0)
    x = rng.integers(-9, 10, (1, 2, n + 2)).astype(np.float64)
    w1 = rng.integers(-9, 10, (2, 2, 3)).astype(np.float64)
    w2 = rng.integers(-9, 10, (2, 2, 2)).astype(np.float64)
    K = np.array([[sum(np.convolve(w2[o, m], w1[m, c]) for m in range(2)) for c in range(2)]
                  for o in range(2)])

    def composition(alg):
        def compute():
            two = jconv.conv(jconv.conv(jnp.asarray(x), jnp.asarray(w1), algorithm=alg),
                             jnp.asarray(w2), algorithm=alg)
            return two, jconv.conv(jnp.asarray(x), jnp.asarray(K), algorithm=alg)

        return S.numeric_law(f"layer composition [{alg}]",
                             "conv(conv(x, w1), w2) == conv(x, composed kernel)",
                             S.verified_for(f"x {x.shape}, w1 {w1.shape}, w2 {w2.shape}"),
                             "", compute)

    proof.numeric(args, lambda alg: [
        S.check_associativity_numeric((n,), (n - 1,), (n - 2,), method=alg),
        composition(alg),
    ])
    return proof.finish(args)


if __name__ == "__main__":
    sys.exit(main())
