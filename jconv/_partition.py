"""How the convolution primitive is partitioned under a sharded `jit`.

Under `jit` with operands sharded over a mesh, XLA's partitioner asks this module how to
split one convolution pass (forward, input gradient or kernel gradient, each a
`ConvSpec`) over the devices. The answer keeps every shard local where the mathematics
allows, and each shard then plans its own pass for its local shape (the algorithm is
chosen for the shard, not for the global array). Per axis of the canonical layout
``x (N, G, Ci, *S)``, ``w (G, Co, Ci, *K)``, ``y (N, G, Co, *O)``:

* batch ``N``, groups ``G``, output channels ``Co``: independent problems; the result
  keeps the sharding and no collective is needed;
* input channels ``Ci``: each shard sums over its own channels, then one ``psum``
  (this is also the kernel gradient of a batch-sharded layer, whose contraction runs
  over the batch);
* a spatial axis of ``x`` (and ``y``): each shard computes a contiguous block of
  outputs, after receiving from its neighbours exactly the part of their input that its
  windows reach (a halo exchange with ``ppermute``), for any stride, dilation, input
  dilation and padding;
* a spatial axis of ``x`` and ``w`` (the kernel gradient of a spatially split layer,
  where the "kernel" is the output gradient): each shard correlates its block of taps
  with the input window they reach (a halo again), then one ``psum``.

A spatial extent that does not split evenly is padded to equal blocks (as XLA pads it)
and the padding zeroed. A sharding this module cannot honour (a batch or channel
dimension that does not split evenly, a spatial axis split over several mesh axes, an
input dilation whose phase differs between shards) is replicated on that axis: correct,
with XLA's gather. Sharding changes results only by the summation order of ``psum``
(which adds float32 partial sums for half-precision passes).

The window on a spatial axis (stride ``s``, kernel dilation ``d``, input dilation ``l``,
low padding ``lo``): shard ``k`` computes outputs ``[k o, (k + 1) o)``, ``o = ceil(O /
n)``, which read the dilated, padded input positions ``[k o s, k o s + W)`` with ``W =
(o - 1) s + d (K - 1) + 1``: the samples ``i`` with ``l i + lo`` in that range. With ``o s``
a multiple of ``l`` these are the ``W_x = floor((W - 1 - lo) / l) - b + 1`` consecutive
samples from ``k o s / l + b``, ``b = ceil(-lo / l)``, and the local padding is the same
on every shard (`_window`). A window reaching past all other blocks (a padding wider
than the rest of the axis) keeps that axis whole.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import jax
import jax.numpy as jnp
from jax.experimental.custom_partitioning import custom_partitioning
from jax.interpreters import mlir
from jax.sharding import NamedSharding, PartitionSpec

from ._select import POLICIES, refusal
from ._spec import ConvSpec


def is_partitioned(ctx) -> bool:
    """True when a lowering runs under a sharded `jit` over several devices.

    Not for `jax.export`: a serialized module cannot call back into Python, so an
    exported sharded program keeps XLA's own partitioning of the unsplit computation.
    """
    axis_context = ctx.module_context.axis_context
    return (not ctx.module_context.lowering_parameters.for_export
            and getattr(axis_context, "num_devices", 1) > 1
            and getattr(axis_context, "device_assignment", None) is not None)


def lowering(ctx, x, w, *, core, **params):
    """Lower one pass as a custom-partitioned call whose shards run ``core``."""
    fn = _partitioned(core, tuple(sorted(params.items(), key=lambda kv: kv[0])))
    return mlir.lower_fun(fn, multiple_results=False)(ctx, x, w)


@lru_cache(maxsize=512)
def _partitioned(core, params: tuple):
    """The custom-partitioned function for one pass (cached per primitive parameters)."""
    params = dict(params)
    spec: ConvSpec = params["spec"]

    @custom_partitioning
    def conv(x, w):
        return core(x, w, **params)

    def partition(mesh, arg_shapes, result_shape):
        plan = Split.of(spec, mesh, *(a.sharding for a in arg_shapes))
        if params["algorithm"] not in POLICIES and refusal(params["algorithm"],
                                                           plan.shard_spec(mesh)):
            # a forced algorithm that runs the whole pass but not a spatial block of it
            # (a block too short for its tiles): keep the spatial axes whole
            plan = dataclasses.replace(plan, halos=(None,) * spec.ndim)
        x_sharding, w_sharding, y_sharding = plan.shardings(mesh)
        return mesh, partial_local(plan, core, params), y_sharding, (x_sharding, w_sharding)

    rule, factors = sharding_rule(spec)
    conv.def_partition(partition=partition, sharding_rule=rule, **factors)
    return conv


def sharding_rule(spec: ConvSpec) -> tuple[str, dict]:
    """Shardy's factors for one pass, and their keyword arguments.

    Batch, groups and output channels pass through; input channels reduce. A spatial
    axis shares one factor (of the smaller extent) with the output when the output's
    reach dominates (``O s >= K d``: a layer, strided, upsampling or "valid"; splitting
    it means a halo exchange), else with the kernel (a kernel gradient, whose taps are
    the output gradient's positions: they reduce).
    """
    xs, ws, ys = ["n", "g", "ci"], ["g", "co", "ci"], ["n", "g", "co"]
    reductions, halos = ["ci"], []
    dims = zip(spec.out_size, spec.stride, spec.kernel_size, spec.rhs_dilation)
    for j, (o, stride, k, d) in enumerate(dims):
        x = f"s{j}"
        xs.append(x)
        if o * stride >= k * d:
            ws.append(f"k{j}")
            ys.append(x)
            halos.append(x)
        else:
            ws.append(x)
            ys.append(f"o{j}")
            reductions.append(x)
    rule = f"{' '.join(xs)}, {' '.join(ws)} -> {' '.join(ys)}"
    return rule, dict(reduction_factors=tuple(reductions), permutation_factors=tuple(halos))


# ---------------------------------------------------------------------------------------
# The split: which mesh axes each dimension keeps, and the halo of each spatial split.
# ---------------------------------------------------------------------------------------

Axes = tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Halo:
    """The window of input one shard needs along a split spatial axis (see the module
    docstring): ``left``/``right`` samples from the neighbours, the window's offset in
    ``[left halo, own block, right halo]`` as ``offset + k * drift`` on shard ``k``,
    its length and local padding. An extent that does not split evenly is padded to
    ``shards`` equal blocks; ``size``/``taps`` (when the taps are split) say how much of
    it is real, and the rest is zeroed before use."""

    axis: str
    shards: int
    left: int
    right: int
    offset: int
    drift: int
    length: int
    padding: tuple[int, int]
    size: int
    taps: int = 0


@dataclasses.dataclass(frozen=True)
class Split:
    """Mesh axes per canonical dimension, and the halo of each split spatial axis (the
    spatial splits of x, w and y follow from the halos)."""

    spec: ConvSpec
    batch: Axes = ()
    groups: Axes = ()
    out_channels: Axes = ()
    in_channels: Axes = ()
    halos: tuple[Halo | None, ...] = ()

    @classmethod
    def of(cls, spec: ConvSpec, mesh, x_sharding, w_sharding) -> Split:
        """The split that keeps as much of the operands' shardings as can stay local."""
        sizes = dict(mesh.shape)
        xa, wa = _axes(x_sharding, 3 + spec.ndim), _axes(w_sharding, 3 + spec.ndim)
        used: set[str] = set()

        def take(axes: Axes, *extents: int) -> Axes:
            n = math.prod(sizes[a] for a in axes)
            if not axes or used & set(axes) or any(e % n for e in extents):
                return ()
            used.update(axes)
            return axes

        batch = take(xa[0], spec.batch)
        groups = take(xa[1] or wa[0], spec.groups)
        out_channels = take(wa[1], spec.out_channels)
        in_channels = take(xa[2] or wa[2], spec.in_channels)
        halos = []
        for j in range(spec.ndim):
            xj, wj = xa[3 + j], wa[3 + j]
            halo = None
            if len(xj) == 1 and not used & set(xj):
                if wj == xj:  # taps split too: a kernel gradient, partial sums
                    halo = _tap_halo(spec, j, xj[0], sizes[xj[0]])
                halo = halo or _output_halo(spec, j, xj[0], sizes[xj[0]])
                used.update(xj if halo else ())
            halos.append(halo)
        return cls(spec, batch, groups, out_channels, in_channels, tuple(halos))

    def _spatial(self, taps: bool | None) -> list[Axes]:
        """Per spatial dim, its mesh axis where split (x: ``taps`` None; w: the taps are
        split; y: the outputs are)."""
        return [(h.axis,) if h and (taps is None or bool(h.taps) == taps) else ()
                for h in self.halos]

    @property
    def reduce_axes(self) -> Axes:
        """Mesh axes the local results are summed over: split input channels and taps."""
        return self.in_channels + tuple(a for axes in self._spatial(True) for a in axes)

    def shardings(self, mesh):
        """The NamedShardings of x, w and y this split computes with."""

        def spec_of(*dims):
            return NamedSharding(mesh, PartitionSpec(*(_entry(d) for d in dims)))

        return (
            spec_of(self.batch, self.groups, self.in_channels, *self._spatial(None)),
            spec_of(self.groups, self.out_channels, self.in_channels, *self._spatial(True)),
            spec_of(self.batch, self.groups, self.out_channels, *self._spatial(False)),
        )

    def shard_spec(self, mesh) -> ConvSpec:
        """The spec each shard will run, from the global one (before any data moves)."""
        sizes = dict(mesh.shape)
        spec = self.spec

        def part(extent, axes):
            return extent // math.prod(sizes[a] for a in axes)

        x_shape = (part(spec.batch, self.batch), part(spec.groups, self.groups),
                   part(spec.in_channels, self.in_channels),
                   *(h.length if h else s for h, s in zip(self.halos, spec.in_size)))
        w_shape = (0, part(spec.out_channels, self.out_channels), 0,
                   *(-(-k // h.shards) if h and h.taps else k
                     for h, k in zip(self.halos, spec.kernel_size)))
        return self.local_spec(x_shape, w_shape)

    def local_spec(self, x_shape, w_shape) -> ConvSpec:
        """The spec one shard computes, from its operands (after the halo exchange)."""
        padding = tuple(h.padding if h else p for h, p in zip(self.halos, self.spec.padding))
        return dataclasses.replace(
            self.spec, batch=x_shape[0], groups=x_shape[1], in_channels=x_shape[2],
            out_channels=w_shape[1], in_size=tuple(x_shape[3:]),
            kernel_size=tuple(w_shape[3:]), padding=padding)


def _entry(axes: Axes):
    return None if not axes else axes[0] if len(axes) == 1 else axes


def _axes(sharding, ndim: int) -> tuple[Axes, ...]:
    """The mesh axes of each dimension of a NamedSharding (empty: replicated)."""
    spec = tuple(getattr(sharding, "spec", ())) + (None,) * ndim
    out = []
    for entry in spec[:ndim]:
        if entry is None or entry is PartitionSpec.UNCONSTRAINED:
            out.append(())
        elif isinstance(entry, str):
            out.append((entry,))
        else:
            out.append(tuple(entry))
    return out


def _window(spec: ConvSpec, j: int, axis: str, n: int, step: int, span: int) -> Halo | None:
    """The halo for windows ``[k step, k step + span)`` of the dilated padded input."""
    size, ld, (lo, _) = spec.in_size[j], spec.lhs_dilation[j], spec.padding[j]
    if step % ld or span <= 0:
        return None
    block, m = -(-size // n), step // ld
    b = -(lo // ld)  # ceil(-lo / ld): the first sample at or after the window start
    last = (span - 1 - lo) // ld  # floor: the last sample inside the window (shard 0)
    length = last - b + 1
    if length <= 0:
        return None
    lefts = [k * block - (k * m + b) for k in (0, n - 1)]
    rights = [(k * m + b + length) - (k + 1) * block for k in (0, n - 1)]
    left, right = max(0, *lefts), max(0, *rights)
    if left > (n - 1) * block or right > (n - 1) * block:
        return None
    pad = (b * ld + lo, span - 1 - (last * ld + lo))
    return Halo(axis, n, left, right, b + left, m - block, length, pad, size)


def _output_halo(spec: ConvSpec, j: int, axis: str, n: int) -> Halo | None:
    """Split outputs: shard ``k`` computes outputs ``[k o, (k + 1) o)``, ``o = ceil(O/n)``."""
    o, s = -(-spec.out_size[j] // n), spec.stride[j]
    span = (o - 1) * s + spec.dilated_kernel_size[j]
    return _window(spec, j, axis, n, o * s, span)


def _tap_halo(spec: ConvSpec, j: int, axis: str, n: int) -> Halo | None:
    """Split taps: shard ``k`` holds taps ``[k p, (k + 1) p)``, ``p = ceil(K/n)`` (never
    flipped here: only kernel gradients, which are correlations, split their taps)."""
    taps = spec.kernel_size[j]
    if spec.flip:
        return None
    p, d = -(-taps // n), spec.rhs_dilation[j]
    span = (spec.out_size[j] - 1) * spec.stride[j] + (p - 1) * d + 1
    halo = _window(spec, j, axis, n, p * d, span)
    return halo and dataclasses.replace(halo, taps=taps)


def _zero_beyond(a, dim: int, halo: Halo, size: int):
    """Zero the padding of the last blocks when ``size`` does not split evenly."""
    block = a.shape[dim]
    if block * halo.shards == size:
        return a
    index = jax.lax.axis_index(halo.axis) * block + jax.lax.broadcasted_iota(
        jnp.int32, a.shape, dim)
    return jnp.where(index < size, a, jnp.zeros((), a.dtype))


def exchange(x, dim: int, halo: Halo):
    """``x``'s window on this shard: neighbours' edges appended, then the window cut.

    A halo longer than one block comes from several neighbours on that side, one
    ``ppermute`` each (the farthest sends only the part that is reached).
    """
    n, block = halo.shards, x.shape[dim]
    x = _zero_beyond(x, dim, halo, halo.size)

    def from_side(reach: int, sign: int) -> list:
        parts = []
        for hop in range(1, -(-reach // block) + 1):
            take = min(block, reach - (hop - 1) * block)
            edge = (jax.lax.slice_in_dim(x, block - take, block, axis=dim) if sign > 0
                    else jax.lax.slice_in_dim(x, 0, take, axis=dim))
            pairs = [(i, i + sign * hop) for i in range(n) if 0 <= i + sign * hop < n]
            parts.append(jax.lax.ppermute(edge, halo.axis, pairs) if pairs
                         else jnp.zeros_like(edge))
        return parts

    parts = [*from_side(halo.left, 1)[::-1], x, *from_side(halo.right, -1)]
    buf = jnp.concatenate(parts, axis=dim) if len(parts) > 1 else x
    if halo.drift == 0:
        return jax.lax.slice_in_dim(buf, halo.offset, halo.offset + halo.length, axis=dim)
    start = halo.offset + jax.lax.axis_index(halo.axis) * halo.drift
    return jax.lax.dynamic_slice_in_dim(buf, start, halo.length, axis=dim)


def partial_local(plan: Split, core, params: dict):
    """The per-shard function: exchange halos, run the local pass, reduce."""

    def run(x, w):
        for j, halo in enumerate(plan.halos):
            if halo is not None:
                x = exchange(x, 3 + j, halo)
            if halo is not None and halo.taps:
                w = _zero_beyond(w, 3 + j, halo, halo.taps)
        spec = plan.local_spec(x.shape, w.shape)
        if not plan.reduce_axes:
            return core(x, w, **dict(params, spec=spec))
        # partial sums are added across devices in float32 where the pass is half
        # precision (as one device accumulates them), rounded once at the end
        dtype = x.dtype
        if jnp.dtype(dtype) in (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16)):
            x, w = x.astype(jnp.float32), w.astype(jnp.float32)
            spec = dataclasses.replace(spec, dtype="float32")
        y = core(x, w, **dict(params, spec=spec))
        return jax.lax.psum(y, plan.reduce_axes).astype(dtype)

    return run
