"""The taps, im2col and polyphase algorithms, forced, against independent references.

Two levels:
* the canonical spec (`ConvSpec`, any stride, padding, crop, lhs/rhs dilation, flip,
  groups) against a NumPy direct sum built from reference.py, which is how every pass
  (forward, input gradient, kernel gradient) reaches an algorithm;
* the public functions (`conv`, `conv_transpose`, `conv_input_grad`, `conv_kernel_grad`)
  with ``algorithm=`` forced, against reference.py.

float64 to ~1e-10 relative; int32 exactly.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import close, conv_ref, conv_transpose_ref, vjp_ref

import jconv
from jconv import _select
from jconv._algorithms import polyphase, taps
from jconv._calibration import reference
from jconv._select import choose, refusal
from jconv._spec import ConvSpec

OURS = ("taps", "im2col", "col2im", "polyphase")
rng = np.random.default_rng(7)


def spec_ref(x, w, spec: ConvSpec):
    """The canonical convolution: NumPy dilation + padding, then reference.conv_ref."""
    n, g, ci = spec.batch, spec.groups, spec.in_channels
    xe = np.asarray(x).reshape(n, g * ci, *spec.in_size)
    for i, (ld, (lo, hi)) in enumerate(zip(spec.lhs_dilation, spec.padding)):
        ax = 2 + i
        if ld > 1:
            size = (xe.shape[ax] - 1) * ld + 1
            shape = list(xe.shape)
            shape[ax] = size
            d = np.zeros(shape, xe.dtype)
            index = [slice(None)] * xe.ndim
            index[ax] = slice(None, None, ld)
            d[tuple(index)] = xe
            xe = d
        # xe[j] = xd[j - lo] where that index exists, else 0, for j < len(xd) + lo + hi
        src = np.arange(xe.shape[ax] + lo + hi) - lo
        valid = (src >= 0) & (src < xe.shape[ax])
        taken = np.take(xe, np.where(valid, src, 0), axis=ax)
        mask = valid.reshape([-1 if a == ax else 1 for a in range(xe.ndim)])
        xe = np.where(mask, taken, 0).astype(taken.dtype)
    wk = np.asarray(w)
    if spec.flip:
        wk = np.flip(wk, tuple(range(3, wk.ndim)))
    wk = wk.reshape(g * spec.out_channels, ci, *spec.kernel_size)
    y = conv_ref(xe, wk, None, spec.stride, 0, spec.rhs_dilation, g)
    return y.reshape(spec.y_shape)


def operands(spec: ConvSpec, dtype):
    if np.dtype(dtype).kind == "i":
        return (rng.integers(-4, 5, s).astype(dtype) for s in (spec.x_shape, spec.w_shape))
    return (rng.standard_normal(s).astype(dtype) for s in (spec.x_shape, spec.w_shape))


def run_forced(name, x, w, spec):
    return jax.jit(lambda a, b: choose(spec, name).run(a, b, None))(x, w)


def check_forced(name, spec: ConvSpec, dtype):
    """``name`` on random operands of ``spec``: exact for integers, else to ~1e-10."""
    x, w = operands(spec, dtype)
    y = run_forced(name, jnp.asarray(x), jnp.asarray(w), spec)
    if np.dtype(dtype).kind == "i":
        np.testing.assert_array_equal(np.asarray(y), spec_ref(x, w, spec))
    else:
        close(y, spec_ref(x, w, spec))


@st.composite
def specs(draw):
    nd = draw(st.integers(1, 2))
    g = draw(st.integers(1, 3))
    ci, co, n = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    size, kernel, stride, pads, ld, d = [], [], [], [], [], []
    for _ in range(nd):
        s_ = draw(st.integers(1, 7))
        k = draw(st.integers(1, 4))
        ldi, di, st_ = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
        lo, hi = draw(st.integers(-2, 4)), draw(st.integers(-2, 4))
        e = ldi * (s_ - 1) + 1 + lo + hi
        if e < di * (k - 1) + 1:
            hi += di * (k - 1) + 1 - e
        size.append(s_), kernel.append(k), stride.append(st_), pads.append((lo, hi))
        ld.append(ldi), d.append(di)
    return ConvSpec(
        batch=n, groups=g, in_channels=ci, out_channels=co, in_size=tuple(size),
        kernel_size=tuple(kernel), stride=tuple(stride), padding=tuple(pads),
        lhs_dilation=tuple(ld), rhs_dilation=tuple(d), flip=draw(st.booleans()),
    )


@given(specs(), st.sampled_from(["float64", "int32"]))
def test_canonical_spec_every_pass(spec, dtype):
    """Forward, input-gradient and kernel-gradient specs of a random spec, every algorithm."""
    compared = expected = 0
    for s in (spec, spec.input_grad(), spec.kernel_grad()):
        s = dataclasses.replace(s, dtype=dtype)
        x, w = operands(s, dtype)
        ref = spec_ref(x, w, s)
        # these specs are small: taps and im2col run all of them; polyphase runs exactly
        # those with a dilated input, col2im those at stride 1
        unsupported = {"polyphase": all(ld == 1 for ld in s.lhs_dilation),
                       "col2im": any(st_ > 1 for st_ in s.stride)}
        expected += len(OURS) - sum(unsupported.values())
        for name in OURS:
            refused = refusal(name, s) is not None
            assert refused == unsupported.get(name, False), (name, s)
            if refused:
                continue
            compared += 1
            y = run_forced(name, jnp.asarray(x), jnp.asarray(w), s)
            assert y.dtype == np.dtype(dtype)
            if dtype == "int32":
                np.testing.assert_array_equal(np.asarray(y), ref, err_msg=f"{name} {s}")
            else:
                close(y, ref)
    assert compared == expected >= 2 * len(OURS)


def _spec(**kw):
    base = dict(batch=2, groups=1, in_channels=2, out_channels=3, in_size=(9, 8),
                kernel_size=(3, 3), stride=(1, 1), padding=((1, 1), (1, 1)),
                lhs_dilation=(1, 1), rhs_dilation=(1, 1), dtype="float64")
    base.update(kw)
    return ConvSpec(**base)


TAPS_FORMS = [
    ("fma", _spec(groups=4, in_channels=1, out_channels=2)),  # depthwise, multiplier 2
    ("fma", _spec(groups=3, in_channels=2, out_channels=2, stride=(2, 1))),
    ("fma", _spec(groups=2, in_channels=1, out_channels=1, in_size=(5, 6, 7),
                  kernel_size=(3, 2, 3), stride=(1, 1, 1), padding=((1, 1), (0, 2), (2, 0)),
                  lhs_dilation=(1, 1, 1), rhs_dilation=(1, 2, 1), flip=True)),
    ("fma", _spec(groups=2, in_channels=1, out_channels=1, in_size=(16, 15),  # looped rows
                  kernel_size=(12, 12), padding=((5, 6), (6, 5)))),
    ("fma", _spec(groups=2, in_channels=1, out_channels=1, in_size=(16, 15),
                  kernel_size=(12, 12), stride=(2, 3), rhs_dilation=(1, 1),
                  padding=((5, 6), (6, 5)), flip=True)),
    ("dot", _spec(in_channels=40, out_channels=40)),
    ("dot", _spec(groups=2, stride=(2, 1), rhs_dilation=(1, 2), flip=True)),
    ("reduce", _spec(batch=1, groups=3, in_channels=2, out_channels=1, in_size=(12, 11),
                     kernel_size=(10, 9), padding=((0, 0), (1, 0)))),
    ("reduce", _spec(batch=1, groups=3, in_channels=2, out_channels=1, in_size=(12, 11),
                     kernel_size=(5, 9), rhs_dilation=(2, 1), stride=(1, 2),
                     padding=((0, 0), (1, 2)))),
    ("positions", _spec(in_channels=12, out_channels=10, in_size=(16, 15),
                        kernel_size=(14, 13), padding=((0, 0), (0, 0)))),
    ("positions", _spec(groups=2, in_size=(12, 11), kernel_size=(5, 9), rhs_dilation=(2, 1),
                        stride=(1, 2), padding=((0, 0), (1, 2)))),
]


@pytest.mark.parametrize("form, spec", TAPS_FORMS)
def test_taps_forms(form, spec):
    """Each form of the taps sum is exact where it is allowed."""
    assert form in taps._form_costs(spec, reference().constants)
    x, w = operands(spec, "float64")
    y = jax.jit(lambda a, b: taps.run_form(form, a, b, spec))(jnp.asarray(x), jnp.asarray(w))
    close(y, spec_ref(x, w, spec))


def test_polyphase_phases():
    """Phase bookkeeping: 1/ld of the taps per dim, and zero phases where no tap lands."""
    s = _spec(lhs_dilation=(2, 3), padding=((2, 2), (2, 2)), kernel_size=(4, 3))
    assert polyphase.phase_count(s) == 6
    _, phases = polyphase._phase_specs(s)
    work = sum(sub.macs for _, sub, _ in phases if sub is not None)
    assert work * 6 == s.macs  # each output meets 2 of 4 and 1 of 3 taps
    # kernel 1 with lhs_dilation 2: odd outputs read only inserted zeros
    s = _spec(lhs_dilation=(2, 1), kernel_size=(1, 1), padding=((0, 0), (0, 0)))
    _, phases = polyphase._phase_specs(s)
    assert sum(sub is None for _, sub, _ in phases) == 1
    x, w = operands(s, "float64")
    close(run_forced("polyphase", jnp.asarray(x), jnp.asarray(w), s), spec_ref(x, w, s))


MERGEABLE = [  # kernel gradients of transposed convolutions: long sub-kernels
    ((2, 3, 5, 6), (3, 2, 4, 4), dict(stride=2, padding=1)),
    ((2, 3, 5, 6), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),  # uneven
    ((2, 2, 7), (2, 3, 5), dict(stride=3, padding=2)),
    ((2, 4, 4, 5), (4, 1, 4, 3), dict(stride=(2, 3), padding=((1, 2), (0, 1)), groups=2)),
]


@pytest.mark.parametrize("inner", ["im2col", "taps", "xla"])
@pytest.mark.parametrize("xs,ws,kw", MERGEABLE)
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_polyphase_merged_phases(inner, xs, ws, kw, dtype):
    """Phases merged into one convolution (sub-kernels shifted into a common window,
    stacked along the output channels) give the dilated sum exactly."""
    from jconv._spec import conv_transpose_layer

    spec = conv_transpose_layer("t", xs, ws, dtype, **kw).spec.kernel_grad()
    dims, phases = polyphase._phase_specs(spec)
    merged = polyphase._merged(spec, phases)
    assert merged is not None
    assert merged[0].out_channels == spec.out_channels * sum(s is not None for _, s, _ in phases)
    forms = polyphase.plan(spec, _select._planner("cpu").context)
    assert any("merged into one convolution" in f.detail for f in forms)
    one = choose(merged[0], inner)
    x, w = operands(spec, dtype)
    y = jax.jit(lambda a, b: polyphase.run(a, b, spec, dims, phases, None, (merged, one)))(
        jnp.asarray(x), jnp.asarray(w))
    close(y, spec_ref(x, w, spec))


def test_polyphase_keeps_short_phases_apart():
    """2x2 sub-kernels in a 3x3 window would do 2.25x the products: not merged."""
    from jconv._spec import conv_transpose_layer

    spec = conv_transpose_layer("t", (2, 8, 6, 6), (8, 4, 4, 4), "float32", stride=2,
                                padding=1).spec
    _, phases = polyphase._phase_specs(spec)
    assert polyphase._merged(spec, phases) is None
    assert polyphase._merged(spec.kernel_grad(), polyphase._phase_specs(spec.kernel_grad())[1])


SCATTERED = [  # col2im: stride 1, any input and kernel dilation, padding or crop
    _spec(lhs_dilation=(2, 2), kernel_size=(4, 4), padding=((2, 2), (2, 2))),  # transposed
    _spec(lhs_dilation=(3, 1), rhs_dilation=(2, 1), padding=((-1, 4), (0, -1)), flip=True),
    _spec(groups=2, in_channels=3, out_channels=2, lhs_dilation=(2, 3), kernel_size=(3, 2)),
    _spec(in_size=(4, 5, 3), kernel_size=(2, 3, 2), stride=(1, 1, 1), lhs_dilation=(2, 1, 2),
          rhs_dilation=(1, 1, 1), padding=((1, 1), (2, 0), (1, 2))),
    _spec(in_size=(9,), kernel_size=(3,), stride=(1,), lhs_dilation=(1,), rhs_dilation=(1,),
          padding=((1, 1),)),  # an undilated input: one phase
    _spec(lhs_dilation=(2, 2), kernel_size=(1, 1), padding=((0, 0), (0, 0))),  # zero phases
    _spec(lhs_dilation=(2, 2), kernel_size=(3, 3), padding=((-6, 1), (0, -5))),  # taps crop
    # a tap whose products meet one output: the first (the last sample), or the last
    _spec(in_size=(5,), kernel_size=(3,), stride=(1,), lhs_dilation=(2,), rhs_dilation=(1,),
          padding=((-8, 3),)),
    _spec(in_size=(5,), kernel_size=(3,), stride=(1,), lhs_dilation=(2,), rhs_dilation=(1,),
          padding=((3, -8),)),
]


@pytest.mark.parametrize("spec", SCATTERED)
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_col2im_scatters_every_product(spec, dtype):
    """Every tap's products land on the outputs of their phase, shifted (or cropped)."""

    spec = dataclasses.replace(spec, dtype=dtype)
    assert refusal("col2im", spec) is None
    check_forced("col2im", spec, dtype)


@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_col2im_in_steps(monkeypatch, dtype):
    """A batch whose products exceed the step budget runs a few images at a time."""
    from jconv._algorithms import col2im

    spec = _spec(batch=6, groups=2, lhs_dilation=(2, 2), kernel_size=(4, 3), flip=True,
                 padding=((2, 1), (1, 2)), dtype=dtype)
    monkeypatch.setattr(col2im, "CHUNK_BYTES", 2 * col2im._products_bytes(spec) // 6)
    assert col2im._chunk(spec) == 2
    assert "in 3 steps" in col2im._detail(spec)
    check_forced("col2im", spec, dtype)


def test_col2im_refuses_stride():
    with pytest.raises(ValueError, match=r"algorithm='col2im' cannot compute the forward pass: "
                       r"the stride is \(2, 2\)"):
        jconv.conv(jnp.ones((1, 2, 6, 6)), jnp.ones((2, 2, 3, 3)), stride=2, algorithm="col2im")


EXCHANGED = [  # kernel gradients of transposed convolutions: dilated input, long kernel
    ((2, 3, 5, 6), (3, 2, 4, 4), dict(stride=2, padding=1)),
    ((2, 3, 5, 6), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 2, 7), (2, 3, 5), dict(stride=3, padding=2)),
    ((1, 4, 4, 5), (4, 1, 4, 3), dict(stride=(2, 3), padding=((1, 2), (0, 1)), groups=2)),
    ((2, 2, 3, 4, 3), (2, 2, 2, 3, 3), dict(stride=(2, 1, 2), padding=1)),
]


@pytest.mark.parametrize("xs,ws,kw", EXCHANGED)
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_im2col_exchanges_input_and_kernel(xs, ws, kw, dtype):
    """A dilated input's kernel gradient runs as the undilated convolution of the kernel
    by the input: the same outputs, without a product with an inserted zero."""
    from jconv._algorithms import im2col
    from jconv._spec import conv_transpose_layer

    spec = conv_transpose_layer("t", xs, ws, dtype, **kw).spec.kernel_grad()
    swapped = im2col._swapped(spec)
    assert swapped is not None and swapped.out_size == spec.out_size
    assert all(ld == 1 for ld in swapped.lhs_dilation)
    assert swapped.macs < spec.macs  # about 1 / ld of the products per dim
    check_forced("im2col", spec, dtype)
    # the forward pass of the same layer is forward-shaped: unfolded as it is
    assert im2col._swapped(conv_transpose_layer("t", xs, ws, dtype, **kw).spec) is None


def test_polyphase_refuses_undilated():
    with pytest.raises(
        ValueError,
        match=r"jconv.conv: algorithm='polyphase' cannot compute the forward pass: the input "
        r"is not dilated \(lhs_dilation is 1\)",
    ):
        jconv.conv(jnp.ones((1, 2, 5, 5)), jnp.ones((2, 2, 3, 3)), algorithm="polyphase")


# -- the public functions, forced --------------------------------------------------------

LAYERS = [
    ((2, 4, 11, 10), (6, 2, 3, 3), dict(stride=2, padding=((1, 1), (1, 0)), groups=2)),
    ((1, 6, 9, 9), (6, 1, 3, 3), dict(stride=1, padding=((1, 1), (1, 1)), groups=6)),
    ((2, 3, 12), (4, 3, 5), dict(stride=3, padding=((2, 1),), dilation=2)),
    ((1, 2, 6, 5, 7), (4, 2, 2, 3, 3), dict(stride=(2, 1, 2), padding=((0, 1), (1, 1), (1, 0)))),
]


def _pairs(kw):
    return kw["padding"]


@pytest.mark.parametrize("xs, ws, kw", LAYERS)
def test_public_functions_forced_exactly_on_integers(xs, ws, kw):
    """Every pass of our algorithms through the public functions, exact on int32 (float64
    runs every pass of every algorithm in test_conformance.py)."""
    x, w = rng.integers(-3, 4, xs).astype("int32"), rng.integers(-3, 4, ws).astype("int32")
    stride, dil, groups = kw.get("stride", 1), kw.get("dilation", 1), kw.get("groups", 1)
    y_ref = conv_ref(x, w, None, stride, _pairs(kw), dil, groups)
    dy = rng.integers(-3, 4, y_ref.shape).astype("int32")
    args = dict(stride=stride, padding=kw["padding"], dilation=dil, groups=groups)
    # input gradient = conv_transpose of dy with the same kernel (the adjoint)
    nd = len(xs) - 2
    st_ = (stride,) * nd if isinstance(stride, int) else stride
    dl = (dil,) * nd if isinstance(dil, int) else dil
    op = [xs[2 + i] - ((y_ref.shape[2 + i] - 1) * st_[i] - sum(kw["padding"][i])
                       + dl[i] * (ws[2 + i] - 1) + 1) for i in range(nd)]
    dx_ref = conv_transpose_ref(dy, w, None, stride, kw["padding"], op, dil, groups)
    dw_ref = kernel_grad_ref(x, dy, ws, st_, kw["padding"], dl, groups)
    yt_ref = conv_transpose_ref(dy, w, None, stride, kw["padding"], op, dil, groups)
    calls = (
        ("forward", y_ref, lambda a: jconv.conv(x, w, algorithm=a, **args)),
        ("input_grad", dx_ref, lambda a: jconv.conv_input_grad(dy, w, xs, algorithm=a, **args)),
        ("kernel_grad", dw_ref, lambda a: jconv.conv_kernel_grad(x, dy, ws, algorithm=a, **args)),
        ("transpose", yt_ref, lambda a: jconv.conv_transpose(
            dy, w, stride=stride, padding=kw["padding"], output_padding=op, dilation=dil,
            groups=groups, algorithm=a)),
    )
    # polyphase needs a dilated input: the input gradient and the transposed convolution
    # of a strided layer have one; nothing else is refused for these small layers
    refused = {("polyphase", "forward"): "the input is not dilated",
               ("polyphase", "kernel_grad"): "the input is not dilated"}
    if all(s == 1 for s in st_):
        refused |= {("polyphase", "input_grad"): "the input is not dilated",
                    ("polyphase", "transpose"): "the input is not dilated"}
    # col2im scatters at stride 1: the forward pass has the layer's stride, the kernel
    # gradient its dilation as stride
    if any(s > 1 for s in st_):
        refused[("col2im", "forward")] = "the stride is"
    if any(d > 1 for d in dl):
        refused[("col2im", "kernel_grad")] = "the stride is"
    compared = 0
    for name in OURS:
        for role, ref, call in calls:
            if (name, role) in refused:
                with pytest.raises(ValueError, match=rf"algorithm={name!r} cannot compute the "
                                   rf".* pass: {refused[name, role]}"):
                    call(name)
                continue
            np.testing.assert_array_equal(np.asarray(call(name)), ref)
            compared += 1
    assert compared == len(OURS) * len(calls) - len(refused)


def kernel_grad_ref(x, dy, ws, stride, pads, dil, groups):
    """dw[o, c, t] = sum_{n, p} dy[n, o, p] x_pad[n, g(o) cg + c, p s + t d] (direct sum)."""
    nd = x.ndim - 2
    xp = x
    for i, (lo, hi) in enumerate(pads):
        width = [(0, 0)] * x.ndim
        width[2 + i] = (lo, hi)
        xp = np.pad(xp, width)
    dw = np.zeros(ws, np.result_type(x, dy))
    co, cg = ws[:2]
    og = co // groups
    out = dy.shape[2:]
    for o in range(co):
        gi = o // og
        for c in range(cg):
            for t in np.ndindex(*ws[2:]):
                sl = tuple(slice(t[i] * dil[i], t[i] * dil[i] + (out[i] - 1) * stride[i] + 1,
                                 stride[i]) for i in range(nd))
                dw[(o, c, *t)] = np.sum(dy[:, o] * xp[(slice(None), gi * cg + c, *sl)])
    return dw


def test_polyphase_runs_transpose_and_strided_input_grad():
    """Forced polyphase on the passes that have an lhs dilation."""
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 3, 4, 4))
    y = jconv.conv_transpose(x, w, stride=2, padding=1, algorithm="polyphase")
    close(y, conv_transpose_ref(x, w, None, 2, 1))
    x = rng.standard_normal((2, 3, 10, 12))
    w = rng.standard_normal((4, 3, 4, 4))
    spec = jconv.explain(x.shape, w.shape, stride=2, padding=1,
                         dtype="float64")["input_grad"].spec
    assert spec.lhs_dilation == (2, 2) and refusal("polyphase", spec) is None
    dy = rng.standard_normal((2, 4, 5, 6))
    dx, _ = vjp_ref(x, w, dy, stride=2, pads=1)
    close(jconv.conv_input_grad(dy, w, x.shape, stride=2, padding=1, algorithm="polyphase"), dx)


@pytest.mark.parametrize("spec", [
    _spec(batch=4, groups=2),  # unfolded by taps
    _spec(batch=3, in_channels=4, in_size=(9, 8), kernel_size=(8, 7),  # by positions
          padding=((0, 0), (0, 0))),
])
def test_im2col_in_steps(monkeypatch, spec):
    """A batch whose patches exceed the step budget is unfolded a few images at a time."""
    from jconv._algorithms import im2col

    monkeypatch.setattr(im2col, "CHUNK_BYTES", im2col.workspace(spec) // 2)
    assert im2col._chunk(spec) == 2
    x, w = operands(spec, "float64")
    close(run_forced("im2col", jnp.asarray(x), jnp.asarray(w), spec), spec_ref(x, w, spec))


def test_im2col_per_image_products():
    """Images with many output positions get one product each (the other layout)."""
    from jconv._algorithms import im2col

    spec = _spec(batch=2, in_size=(im2col.WIDE_POSITIONS + 2,), kernel_size=(3,), stride=(1,),
                 padding=((0, 0),), lhs_dilation=(1,), rhs_dilation=(1,))
    x, w = operands(spec, "float64")
    close(run_forced("im2col", jnp.asarray(x), jnp.asarray(w), spec), spec_ref(x, w, spec))


def test_im2col_charges_one_dimensional_unfolding_twice():
    """In 1-D, XLA copies every window out before concatenating them (in 2-D it fuses the
    two), so the same convolution lifted to 2-D (a spatial dim of one) is estimated
    cheaper by two more passes over the patches."""
    from jconv._algorithms import im2col

    c = reference().constants
    one = ConvSpec(8, 1, 64, 64, (4096,), (9,), (1,), ((4, 4),), (1,), (1,)).kernel_grad()
    two = dataclasses.replace(
        one, in_size=(1, *one.in_size), kernel_size=(1, *one.kernel_size), stride=(1, 1),
        padding=((0, 0), *one.padding), lhs_dilation=(1, 1), rhs_dilation=(1, 1),
    )
    patches = im2col.workspace(one)  # over all steps
    extra = 2 * patches / c["stream_bytes"]
    gap = im2col._estimate(one, c)[0] - im2col._estimate(two, c)[0]
    assert gap == pytest.approx(extra, rel=1e-2)
