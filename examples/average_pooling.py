"""Average pooling as a depthwise convolution, with its gradient.

A k x k average pool with stride s is a depthwise convolution (``groups`` equal to the
channels) with a kernel of ones / k^2: every channel is filtered on its own. This checks
it against a reshape-and-mean pool, differentiates through it, and shows which algorithm
each pass gets.

Run: python examples/average_pooling.py
"""

import jax
import jax.numpy as jnp
import numpy as np

import jconv


def avg_pool(x, k: int, stride: int):
    """``(N, C, H, W)`` -> the mean over every k x k window, at ``stride``."""
    c = x.shape[1]
    w = jnp.full((c, 1, k, k), 1.0 / (k * k), x.dtype)
    return jconv.conv(x, w, stride=stride, groups=c)


def main() -> None:
    x = jax.random.normal(jax.random.key(0), (8, 64, 32, 32))
    y = jax.jit(avg_pool, static_argnums=(1, 2))(x, 2, 2)
    ref = x.reshape(8, 64, 16, 2, 16, 2).mean(axis=(3, 5))
    err = float(jnp.max(jnp.abs(y - ref)))
    print(f"2x2 average pool of {x.shape} -> {y.shape}; largest difference to reshape-mean: {err:.1e}")
    assert y.shape == ref.shape and err < 1e-6

    # overlapping windows (3x3, stride 1) and the gradient: each input feeds up to 9
    # windows, 1/9 each, so the gradient of the sum is the count of windows / 9
    g = jax.grad(lambda x: avg_pool(x, 3, 1).sum())(x)
    counts = np.convolve(np.ones(30), np.ones(3))  # windows covering each of 32 positions
    expected = np.outer(counts, counts) / 9
    print(f"gradient of the 3x3 pool's sum at a corner {float(g[0, 0, 0, 0]):.4f}, "
          f"in the middle {float(g[0, 0, 16, 16]):.4f}")
    np.testing.assert_allclose(np.asarray(g[0, 0]), expected, rtol=1e-6)

    plan = jconv.explain(x.shape, (64, 1, 3, 3), groups=64)
    print("algorithms (forward / input gradient / kernel gradient):",
          " / ".join(p.chosen for p in plan.passes))


if __name__ == "__main__":
    main()
