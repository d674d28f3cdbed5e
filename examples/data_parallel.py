"""Data-parallel training of a small CNN over a mesh of 8 devices, jconv against lax.

Run: python examples/data_parallel.py        (8 host CPU devices are simulated)

The batch is split over the mesh with a `NamedSharding`, the parameters are replicated,
and the training step is an ordinary `jax.jit` function: jconv's convolutions run on
each device's part of the batch (each device plans its own passes), and the kernel
gradients are summed over the devices with all-reduces, as with `jax.lax`. The example
checks that: the compiled step holds no all-gather and no more collectives than lax's,
the losses match lax's, and the output of the model stays batch-sharded.

On several hosts the same code runs unchanged after `jax.distributed.initialize()`
(one process per host; `jax.devices()` then lists every host's devices and the mesh
spans them); on one host with accelerators, leave out the XLA flag below.
"""

from __future__ import annotations

import os

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_force_host_platform_device_count=8")

import re  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import jconv  # noqa: E402

BATCH, CLASSES = 64, 10


def lax_conv(x, w, padding, groups=1):
    return jax.lax.conv_general_dilated(x, w, (1, 1), padding, feature_group_count=groups)


def jconv_conv(x, w, padding, groups=1):
    return jconv.conv(x, w, padding=padding.lower(), groups=groups)


def init(key):
    """A small CNN: 3x3 conv, depthwise 3x3, 3x3 conv, 4x4 average pool, dense."""
    k = jax.random.split(key, 4)
    return {
        "c1": jax.random.normal(k[0], (32, 1, 3, 3)) * 0.3,
        "dw": jax.random.normal(k[1], (32, 1, 3, 3)) * 0.3,
        "c2": jax.random.normal(k[2], (64, 32, 3, 3)) * 0.06,
        "fc": jax.random.normal(k[3], (64 * 16, CLASSES)) * 0.03,
    }


def model(params, x, conv):
    h = jax.nn.relu(conv(x, params["c1"], "SAME"))
    h = jax.nn.relu(conv(h, params["dw"], "SAME", groups=32))
    h = jax.nn.relu(conv(h, params["c2"], "SAME"))
    n, c = h.shape[:2]
    pooled = h.reshape(n, c, 4, 4, 4, 4).mean(axis=(3, 5))
    return pooled.reshape(n, -1) @ params["fc"]


def make_step(conv, lr=0.1):
    def loss(params, x, y):
        logits = model(params, x, conv)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    @jax.jit
    def step(params, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads), value

    return step


def data(key, n):
    """Images of two kinds of strokes per class: enough structure to learn."""
    kx, ky = jax.random.split(key)
    y = jax.random.randint(ky, (n,), 0, CLASSES)
    grid = jnp.arange(16)
    rows = (grid[None, :, None] == (y[:, None, None] + 3)).astype(jnp.float32)
    cols = (grid[None, None, :] == (12 - y[:, None, None])).astype(jnp.float32)
    x = rows + cols + 0.3 * jax.random.normal(kx, (n, 16, 16))
    return x[:, None], y


def collectives(compiled) -> dict[str, int]:
    text = compiled.as_text()
    return {c: len(re.findall(rf" {c}(-start)?\(", text))
            for c in ("all-gather", "all-reduce", "collective-permute")}


def train(conv, params, batches, mesh):
    """Compile (timed), then train over ``batches``; returns losses and timings."""
    batch_sharding = NamedSharding(mesh, P("batch"))
    params = jax.device_put(params, NamedSharding(mesh, P()))
    step = make_step(conv)
    x0, y0 = (jax.device_put(a, batch_sharding) for a in batches[0])
    start = time.perf_counter()
    compiled = step.lower(params, x0, y0).compile()
    compile_s = time.perf_counter() - start
    losses, times = [], []
    for x, y in batches:
        x, y = jax.device_put(x, batch_sharding), jax.device_put(y, batch_sharding)
        start = time.perf_counter()
        params, value = compiled(params, x, y)
        value.block_until_ready()
        times.append(time.perf_counter() - start)
        losses.append(float(value))
    logits = jax.jit(lambda p, x: model(p, x, conv))(params, x0)
    return dict(losses=losses, step_ms=1e3 * float(np.median(times[1:])), compile_s=compile_s,
                collectives=collectives(compiled), logits_sharding=logits.sharding.spec,
                params=params)


def main(steps: int = 30) -> dict:
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    print(f"mesh: {mesh.devices.size} devices ({jax.devices()[0].platform})")
    params = init(jax.random.key(0))
    keys = jax.random.split(jax.random.key(1), steps)
    batches = [data(k, BATCH) for k in keys]
    results = {name: train(conv, params, batches, mesh)
               for name, conv in (("jconv", jconv_conv), ("lax", lax_conv))}
    for name, r in results.items():
        print(f"{name:6s} compile {r['compile_s']:5.2f} s  step {r['step_ms']:6.2f} ms  "
              f"loss {r['losses'][0]:.3f} -> {r['losses'][-1]:.3f}  collectives "
              f"{r['collectives']}  logits {r['logits_sharding']}")
    mine, lax = results["jconv"], results["lax"]
    assert mine["collectives"]["all-gather"] == 0, mine["collectives"]
    assert sum(mine["collectives"].values()) <= sum(lax["collectives"].values())
    assert mine["logits_sharding"] == P("batch"), mine["logits_sharding"]
    np.testing.assert_allclose(mine["losses"], lax["losses"], rtol=2e-3, atol=2e-3)
    assert mine["losses"][-1] < 0.7 * mine["losses"][0], "the model did not learn"
    print(f"step time jconv / lax: {mine['step_ms'] / lax['step_ms']:.2f}; "
          f"compile time jconv / lax: {mine['compile_s'] / lax['compile_s']:.2f}")
    return results


if __name__ == "__main__":
    main()
