"""The digits LeNet in Flax NNX, with jconv computing its convolutions.

``nnx.Conv`` takes the convolution function as an argument, and ``jconv.lax``'s
``conv_general_dilated`` has ``jax.lax``'s exact signature, so a Flax model switches to
jconv with one keyword and nothing else changes:

    nnx.Conv(1, 16, (3, 3), conv_general_dilated=jconv.lax.conv_general_dilated, rngs=rngs)

The script builds the model twice (jconv's convolution and Flax's default, ``jax.lax``),
gives both the same parameters and checks that they compute the same outputs and
gradients, trains the jconv model briefly with ``nnx.Optimizer`` and Adam, and times one
compiled training step of each.

Run: python examples/flax_nnx.py   (needs flax, optax and scikit-learn)
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jconv


class LeNet(nnx.Module):
    """Two 3x3 convolutions with max pooling, then two dense layers; NHWC, as Flax uses."""

    def __init__(self, rngs: nnx.Rngs, conv_general_dilated=jax.lax.conv_general_dilated):
        conv = dict(padding="SAME", conv_general_dilated=conv_general_dilated, rngs=rngs)
        self.conv1 = nnx.Conv(1, 16, (3, 3), **conv)
        self.conv2 = nnx.Conv(16, 32, (3, 3), **conv)
        self.dense1 = nnx.Linear(32 * 2 * 2, 64, rngs=rngs)
        self.dense2 = nnx.Linear(64, 10, rngs=rngs)

    def __call__(self, x):
        x = nnx.max_pool(nnx.relu(self.conv1(x)), (2, 2), (2, 2))    # (N, 4, 4, 16)
        x = nnx.max_pool(nnx.relu(self.conv2(x)), (2, 2), (2, 2))    # (N, 2, 2, 32)
        x = nnx.relu(self.dense1(x.reshape(x.shape[0], -1)))
        return self.dense2(x)


def loss_fn(model, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()


@nnx.jit
def train_step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
    optimizer.update(model, grads)
    return loss


def median_step_ms(model, x, y, repeats=15):
    """Median wall time of one compiled training step (on a copy of the model), in ms."""
    model = nnx.clone(model)
    optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)
    jax.block_until_ready(train_step(model, optimizer, x, y))      # compile
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(train_step(model, optimizer, x, y))
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def main() -> None:
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]      # (1797, 8, 8, 1)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)

    model = LeNet(nnx.Rngs(0), conv_general_dilated=jconv.lax.conv_general_dilated)
    model_lax = LeNet(nnx.Rngs(1))                  # lax's convolution, other parameters...
    nnx.update(model_lax, nnx.state(model, nnx.Param))   # ...now the same parameters

    xb, yb = jnp.asarray(x_train[:64]), jnp.asarray(y_train[:64])
    forward = nnx.jit(lambda m, x: m(x))
    out, out_lax = forward(model, xb), forward(model_lax, xb)
    print(f"outputs, jconv vs jax.lax: largest difference {float(jnp.max(jnp.abs(out - out_lax))):.1e}")
    np.testing.assert_allclose(out, out_lax, rtol=1e-5, atol=1e-5)
    grad = nnx.jit(nnx.grad(loss_fn))
    g, g_lax = grad(model, xb, yb), grad(model_lax, xb, yb)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_lax)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    print("gradients, jconv vs jax.lax: equal within 1e-4")

    optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)
    batch, epochs = 64, 4
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        losses = [float(train_step(model, optimizer, jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx])))
                  for idx in (order[i:i + batch] for i in range(0, len(order) - batch + 1, batch))]
        print(f"epoch {epoch + 1}: mean training loss {np.mean(losses):.3f}")

    accuracy = float(jnp.mean(jnp.argmax(forward(model, jnp.asarray(x_test)), -1) == jnp.asarray(y_test)))
    print(f"test accuracy: {accuracy:.3f} on {len(x_test)} held-out digits")
    assert accuracy > 0.9

    t_jconv, t_lax = median_step_ms(model, xb, yb), median_step_ms(model_lax, xb, yb)
    print(f"training step (batch {batch}), median of 15: jconv {t_jconv:.2f} ms, jax.lax {t_lax:.2f} ms")


if __name__ == "__main__":
    main()
