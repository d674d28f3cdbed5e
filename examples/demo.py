"""A short tour of jconv: a grouped convolution layer, its gradient, and the plan.

Run: python examples/demo.py
"""

import jax
import jax.numpy as jnp

import jconv


def main() -> None:
    key_x, key_w, key_b = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(key_x, (8, 32, 28, 28))          # (N, C_in, H, W)
    w = jax.random.normal(key_w, (64, 8, 3, 3)) * 0.1      # (C_out, C_in // groups, kH, kW)
    b = jax.random.normal(key_b, (64,))

    layer = jax.jit(lambda x, w, b: jax.nn.relu(jconv.conv(x, w, b, stride=2, padding="same", groups=4)))
    y = layer(x, w, b)
    print(f"conv: x {x.shape} * w {w.shape}, groups=4, stride=2, 'same' -> y {y.shape}")

    loss = lambda w, b: jnp.mean(layer(x, w, b) ** 2)  # noqa: E731
    gw, gb = jax.jit(jax.grad(loss, argnums=(0, 1)))(w, b)
    print(f"grad: |dL/dw| = {float(jnp.linalg.norm(gw)):.4f}, |dL/db| = {float(jnp.linalg.norm(gb)):.4f}")

    # the same gradient from the public VJP functions
    dy = jax.grad(lambda y: jnp.mean(jax.nn.relu(y) ** 2))(jconv.conv(x, w, b, stride=2, padding="same", groups=4))
    gw2 = jconv.conv_kernel_grad(x, dy, w.shape, stride=2, padding="same", groups=4)
    print(f"conv_kernel_grad agrees with jax.grad: {bool(jnp.allclose(gw, gw2, rtol=1e-4, atol=1e-6))}")

    t = jnp.linspace(0.0, 1.0, 1000)
    signal = jnp.sin(40 * t) + 0.3 * jax.random.normal(key_b, t.shape)
    smooth = jconv.convolve(signal, jnp.ones(25) / 25, mode="same")
    print(f"convolve: moving average of a noisy sine, std {float(signal.std()):.3f} -> {float(smooth.std()):.3f}")

    print()
    print(jconv.explain(x.shape, w.shape, stride=2, padding="same", groups=4))


if __name__ == "__main__":
    main()
