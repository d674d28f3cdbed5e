"""A 3-D volume split along depth over 8 devices: halo exchange, memory per device.

Run: python examples/volume_sharded.py        (8 host CPU devices are simulated)

A volume too large for one device is split along one spatial axis with a
`NamedSharding`. Under `jit`, each device convolves its slab after receiving from its two
neighbours exactly the planes its windows reach (one collective-permute each way per
pass), and the kernel gradient is summed with one all-reduce. The example compares a
3x3x3 layer's forward and backward passes on the split volume with the same program on
one device: equal results, no all-gather, and the memory XLA allocates per device, for
the default choice of algorithm and for XLA's convolution. Each shard plans its own
passes within the per-device workspace limit (`jconv.set_workspace_limit`), so the
default choice may spend the memory the split frees on a faster algorithm.
"""

from __future__ import annotations

import os

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_force_host_platform_device_count=8")

import re  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import jconv  # noqa: E402

SHAPE = (1, 4, 128, 64, 64)  # (N, C, D, H, W)


def layer_and_grads(algorithm):
    """The layer's output and both gradients of ``sum(y**2) / 2``."""
    def run(x, w):
        y, pull = jax.vjp(lambda x, w: jconv.conv(x, w, padding="same", algorithm=algorithm),
                          x, w)
        return (y, *pull(y))
    return jax.jit(run)


def memory(compiled) -> int:
    """Bytes XLA allocates per device: arguments, outputs and temporaries."""
    m = compiled.memory_analysis()
    return m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes


def compare(algorithm: str, x, w, mesh) -> dict:
    """One device against the volume split along depth, for one algorithm choice."""
    step = layer_and_grads(algorithm)
    one = jax.device_put((x, w), mesh.devices.flat[0])
    single = step.lower(*one).compile()
    split = (jax.device_put(x, NamedSharding(mesh, P(None, None, "depth"))),
             jax.device_put(w, NamedSharding(mesh, P())))
    sharded = step.lower(*split).compile()
    want, got = single(*one), sharded(*split)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-4)
    text = sharded.as_text()
    counts = {c: len(re.findall(rf" {c}(-start)?\(", text))
              for c in ("all-gather", "all-reduce", "collective-permute")}
    # one halo exchange each way per pass (3 passes), one all-reduce of the kernel gradient
    assert counts == {"all-gather": 0, "all-reduce": 1, "collective-permute": 6}, counts
    assert got[0].sharding.spec == P(None, None, "depth"), got[0].sharding
    return dict(one_device_mib=memory(single) / 2**20, per_device_mib=memory(sharded) / 2**20,
                collectives=counts)


def main() -> dict:
    mesh = Mesh(np.array(jax.devices()), ("depth",))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal(SHAPE), jnp.float32)
    w = jnp.asarray(rng.standard_normal((4, 4, 3, 3, 3)) * 0.2, jnp.float32)
    results = {algorithm: compare(algorithm, x, w, mesh) for algorithm in ("auto", "xla")}
    print(f"volume {SHAPE} float32, 3x3x3 layer, forward and both gradients, "
          f"split along depth over {mesh.devices.size} devices")
    print("algorithm  one device  per device  collectives")
    for algorithm, r in results.items():
        print(f"{algorithm:9s} {r['one_device_mib']:7.1f} MiB {r['per_device_mib']:7.1f} MiB  "
              f"{r['collectives']}")
    # XLA's own convolution needs no workspace: memory divides with the volume. The
    # default choice plans each shard within the per-device workspace limit, so a
    # shard may take a faster algorithm with more scratch than the whole volume could.
    assert results["xla"]["per_device_mib"] < results["xla"]["one_device_mib"] / 4
    return results


if __name__ == "__main__":
    main()
