"""Choosing algorithms: auto never fails, the workspace bound, explain, measured mode, errors."""

import contextlib
import dataclasses
import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference import conv_ref

import jconv
from jconv import _select
from jconv._algorithms import REGISTRY
from jconv._calibration import reference
from jconv._select import choose, refusal, workspace_limit
from jconv._spec import conv_layer, conv_transpose_layer

DTYPES = ["float32", "float64", "int32", "int8", "complex64", "float16"]


@pytest.fixture
def default_limit():
    """Restore the default workspace limit after a test that changes it."""
    yield
    jconv.set_workspace_limit(None)


@st.composite
def layers(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    size = tuple(draw(st.integers(3, 9)) for _ in range(nd))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(DTYPES))
    transpose = draw(st.booleans())
    padding = draw(st.sampled_from(["same", "valid", 1]))
    dilation = draw(st.integers(1, 2))
    try:
        if transpose:
            return conv_transpose_layer(
                "test", (2, cin, *size), (cin, cout // groups, *kernel), dtype, stride=stride,
                padding=1 if padding == 1 else 0, groups=groups,
            )
        return conv_layer(
            "test", (2, cin, *size), (cout, cin // groups, *kernel), dtype, stride=stride,
            padding=padding, dilation=dilation, groups=groups,
        )
    except ValueError:  # e.g. a dilated kernel larger than the input
        assume(False)


@given(layers())
def test_auto_always_chooses_a_supported_algorithm(layer):
    spec = layer.spec
    for s in (spec, spec.input_grad(), spec.kernel_grad()):
        name = choose(s).name
        assert refusal(name, s) is None
        if np.dtype(s.dtype).kind in "iu":
            assert name != "fft"
        for c in _select.candidates(s):
            if c.reason is None:
                assert math.isfinite(c.seconds) and c.seconds > 0
                assert isinstance(c.workspace, int) and c.workspace >= 0


@given(layers(), st.sampled_from([0, 2**10, 2**16, 2**22]))
def test_workspace_bound_is_respected(layer, limit):
    with workspace(limit):
        check_bound(layer, limit)


@contextlib.contextmanager
def workspace(limit):
    previous = jconv.set_workspace_limit(limit)
    try:
        yield
    finally:
        jconv.set_workspace_limit(previous)


def check_bound(layer, limit):
    for s in (layer.spec, layer.spec.input_grad(), layer.spec.kernel_grad()):
        assert workspace_limit(s) == limit
        cands = {c.name: c for c in _select.candidates(s) if c.reason is None}
        chosen = cands[choose(s).name]
        least = min(c.workspace for c in cands.values())
        assert chosen.workspace <= max(limit, least)


def test_default_workspace_limit_scales_with_operands():
    small = conv_layer("t", (1, 2, 8, 8), (2, 2, 3, 3), "float32").spec
    big = conv_layer("t", (64, 64, 64, 64), (64, 64, 3, 3), "float32").spec
    assert workspace_limit(small) == _select.WORKSPACE_FLOOR
    operands = 4 * (64 * 64 * 64 * 64 + 64 * 64 * 9 + 64 * 64 * 62 * 62)  # x, w, y
    assert workspace_limit(big) == _select.WORKSPACE_FACTOR * operands


def test_zero_limit_picks_the_least_workspace(default_limit):
    """With nothing within the limit, auto takes the algorithm with the least workspace."""
    assert jconv.set_workspace_limit(0) is None
    plan = jconv.explain((2, 16, 20, 20), (16, 16, 3, 3))
    for p in plan.passes:
        supported = [c for c in p.candidates if c.reason is None]
        chosen = next(c for c in supported if c.name == p.chosen)
        assert chosen.workspace == min(c.workspace for c in supported)
        assert any(c.workspace > chosen.workspace for c in supported)
    assert "workspace over the limit" in str(plan)
    assert jconv.set_workspace_limit(None) == 0


# shapes tried, in order, for one whose automatic choice needs workspace
REPLAN_SHAPES = [((2, 16, 20, 20), (16, 16, 3, 3)), ((2, 8, 16, 16), (8, 8, 3, 3)),
                 ((1, 4, 9, 9), (4, 4, 3, 3)), ((4, 32, 24, 24), (32, 32, 5, 5))]


def _spy_on_runs(monkeypatch):
    """Wrap every registered algorithm's forms so that running one records its name."""
    traced = []

    def spied(name, form):
        def run(x, w, precision):
            traced.append(name)
            return form.run(x, w, precision)

        return form._replace(run=run)

    for name, alg in list(REGISTRY.items()):
        def plan(spec, ctx, name=name, inner=alg.plan):
            answer = inner(spec, ctx)
            return answer if isinstance(answer, str) else tuple(spied(name, f) for f in answer)

        monkeypatch.setitem(REGISTRY, name, alg._replace(plan=plan))
    return traced


def test_limit_change_replans_compiled_functions(default_limit, monkeypatch):
    """A compiled `conv` is traced again after `set_workspace_limit`, with the new choice."""
    def forward_choice(xs, ws):
        """The forward pass's choice, its workspace and the least workspace of any."""
        p = jconv.explain(xs, ws, padding=1)["forward"]
        supported = [c for c in p.candidates if c.reason is None]
        chosen = next(c for c in supported if c.name == p.chosen)
        return p.chosen, chosen.workspace, min(c.workspace for c in supported)

    found = [(xs, ws) for xs, ws in REPLAN_SHAPES if len(set(forward_choice(xs, ws)[1:])) == 2]
    assert found, "auto chose an algorithm of the least workspace for every shape tried"
    xs, ws = found[0]
    before, before_workspace, _ = forward_choice(xs, ws)
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)
    traced = _spy_on_runs(monkeypatch)
    _select.clear_plans()  # earlier tests may have compiled these shapes already
    y1 = jconv.conv(jnp.asarray(x), jnp.asarray(w), padding=1)
    assert traced == [before]
    jconv.conv(jnp.asarray(x), jnp.asarray(w), padding=1)
    assert traced == [before]  # same limit: the compiled function is reused, not re-planned

    jconv.set_workspace_limit(0)  # nothing fits: the least workspace is taken
    after, workspace, least = forward_choice(xs, ws)
    assert after != before and workspace == least < before_workspace
    y2 = jconv.conv(jnp.asarray(x), jnp.asarray(w), padding=1)
    assert traced == [before, after]  # re-planned under the new limit
    ref = conv_ref(x.astype(np.float64), w.astype(np.float64), None, 1, 1)
    for y in (y1, y2):
        assert y.dtype == jnp.float32
        np.testing.assert_allclose(np.asarray(y, np.float64), ref, rtol=1e-4, atol=1e-4)
    # two float32 algorithms agree to rounding (measured as a whole: Winograd's larger
    # tiles round single entries more, ~2e-6 of the norm, see docs)
    diff = np.asarray(y1, np.float64) - np.asarray(y2, np.float64)
    assert np.linalg.norm(diff) <= 1e-5 * np.linalg.norm(ref)


@pytest.mark.parametrize(
    "limit, error, message",
    [
        (-1, ValueError, "jconv.set_workspace_limit: limit must be >= 0 bytes, got -1"),
        (1.5, TypeError, "jconv.set_workspace_limit: limit must be an int number of bytes or "
                         "None, got 1.5"),
        (True, TypeError, "limit must be an int number of bytes or None, got True"),
    ],
)
def test_set_workspace_limit_errors(limit, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        jconv.set_workspace_limit(limit)


def test_explain_lists_every_algorithm_for_every_pass():
    plan = jconv.explain((2, 8, 16, 16), (8, 2, 3, 3), groups=4, stride=2, padding=1)
    assert [p.role for p in plan.passes] == ["forward", "input_grad", "kernel_grad"]
    text = str(plan)
    for p in plan.passes:
        assert [c.name for c in p.candidates] == list(jconv.algorithms())
        assert p.chosen in jconv.algorithms()
        for c in p.candidates:
            assert (c.seconds is None) == (c.reason is not None)
    for name in jconv.algorithms():
        assert text.count(f"  {name} ") >= 3
    assert text.count("<- chosen") == 3
    assert "unsupported: the input is not dilated" in text  # polyphase on the forward pass
    # the strided conv's input gradient is a dilated convolution: polyphase applies there
    grad = plan["input_grad"]
    assert next(c for c in grad.candidates if c.name == "polyphase").reason is None


def test_explain_integers_has_no_gradients_and_no_fft():
    plan = jconv.explain((2, 4, 16), (4, 4, 5), dtype="int32")
    assert [p.role for p in plan.passes] == ["forward"]
    assert plan["forward"].chosen != "fft"


def test_measured_mode_times_once_and_caches(monkeypatch, tmp_path):
    monkeypatch.setenv("JCONV_CALIBRATION_DIR", str(tmp_path))  # no stored choices
    _select.clear_plans()
    calls = []
    original = _select._time_candidates

    def counting(planner, spec, exact=False):
        calls.append(spec)
        return original(planner, spec, exact)

    monkeypatch.setattr(_select, "_time_candidates", counting)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 6, 12, 12)), rng.standard_normal((6, 3, 3, 3))
    y = jconv.conv(jnp.asarray(x), jnp.asarray(w), padding=1, groups=2, algorithm="measure")
    np.testing.assert_allclose(y, conv_ref(x, w, None, 1, 1, 1, 2), rtol=1e-9, atol=1e-9)
    spec = conv_layer("t", x.shape, w.shape, "float64", padding=1, groups=2).spec
    assert calls.count(spec) == 1
    chosen = _select.measured_choices()[spec]
    assert chosen in jconv.algorithms()
    # again, and inside a gradient (the input- and kernel-gradient specs are timed in
    # a worker thread while the outer function is traced)
    jconv.conv(jnp.asarray(x), jnp.asarray(w), padding=1, groups=2, algorithm="measure")
    assert calls.count(spec) == 1
    import jax

    g = jax.grad(lambda a: jconv.conv(a, jnp.asarray(w), padding=1, groups=2,
                                      algorithm="measure").sum())(jnp.asarray(x))
    assert g.shape == x.shape
    assert spec.input_grad() in _select.measured_choices()
    assert calls.count(spec) == 1
    plan = jconv.explain(x.shape, w.shape, padding=1, groups=2, dtype="float64",
                         algorithm="measure")
    assert plan["forward"].chosen == chosen
    assert "measured" in str(plan)
    _select.clear_plans()
    assert _select.measured_choices() == {}


def test_measured_mode_on_integers_is_exact():
    rng = np.random.default_rng(4)
    x = rng.integers(-5, 6, (2, 3, 10)).astype(np.int32)
    w = rng.integers(-5, 6, (4, 3, 3)).astype(np.int32)
    y = jconv.conv(jnp.asarray(x), jnp.asarray(w), padding=1, algorithm="measure")
    np.testing.assert_array_equal(np.asarray(y), conv_ref(x, w, None, 1, 1, 1, 1))
    spec = conv_layer("t", x.shape, w.shape, "int32", padding=1).spec
    assert _select.measured_choices()[spec] != "fft"


def test_forcing_an_unsupported_algorithm_raises():
    x, w = jnp.ones((1, 1, 49, 49)), jnp.ones((1, 1, 33, 33))
    with pytest.raises(
        ValueError,
        match=r"jconv.conv: algorithm='taps' cannot compute the forward pass: the kernel has "
        r"1089 taps and the output 289 positions; this unrolled sum allows at most 256 taps",
    ):
        jconv.conv(x, w, algorithm="taps")
    with pytest.raises(
        ValueError,
        match=r"jconv.conv_kernel_grad: algorithm='polyphase' cannot compute the kernel grad "
        r"pass: the input is not dilated",
    ):
        jconv.conv_kernel_grad(jnp.ones((1, 2, 8)), jnp.ones((1, 2, 6)), (2, 2, 3),
                               algorithm="polyphase")


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match=r"jconv.conv: algorithm must be 'auto' or one of "
                                         r"'xla', .* or 'measure' \(time the candidates\), "
                                         r"got 'fastest'"):
        jconv.conv(jnp.ones((1, 1, 5)), jnp.ones((1, 1, 3)), algorithm="fastest")


def test_explain_describes_how_each_candidate_would_run():
    text = str(jconv.explain((2, 8, 16, 16), (8, 4, 4, 4), transpose=True, stride=2, padding=1))
    assert "4 phases (" in text  # polyphase on the transposed forward pass
    assert "unfolded by taps" in text or "unfolded by output positions" in text  # im2col
    assert " form" in text  # taps names its form


def test_xla_cost_follows_its_route():
    """XLA's convolution runs small kernels on one core, large ones (>= 128 output channels
    and >= 2^17 kernel elements) on all, and input-dilated ones by another route; the
    model charges each route its calibrated rate."""
    from jconv._algorithms import xla

    CONSTANTS = reference().constants

    def spec(x_shape, w_shape, **kw):
        return conv_layer("t", x_shape, w_shape, "float32", **kw).spec

    serial = spec((8, 64, 56, 56), (64, 64, 3, 3), padding=1)
    parallel = spec((8, 128, 28, 28), (256, 128, 3, 3), padding=1)
    assert xla.route(serial) == "serial"
    assert xla.route(parallel) == "parallel"
    assert xla.route(spec((8, 64, 16, 16), (128, 64, 4, 4), stride=2)) == "parallel"
    assert xla.route(spec((8, 64, 16, 16), (128, 64, 3, 3), stride=2)) == "serial"  # 73728
    assert xla.route(spec((8, 128, 1024), (256, 128, 9))) == "serial"  # 1-D: own factor
    assert xla.route(spec((8, 256, 14, 14), (256, 8, 3, 3), groups=32)) == "serial"
    assert xla.route(parallel.kernel_grad()) == "serial"
    transposed = conv_transpose_layer("t", (8, 128, 16, 16), (128, 64, 4, 4), "float32",
                                      stride=2, padding=1).spec
    assert xla.route(transposed) == "dilated"
    assert xla.route(transposed.input_grad()) == "parallel"  # a strided 64 -> 128 4x4
    one_d = conv_layer("t", (8, 32, 4096), (32, 32, 9), "float64", stride=2, padding=4).spec
    assert {xla.route(s) for s in (one_d, one_d.input_grad(), one_d.kernel_grad())} == {"f64_1d"}
    assert xla.route(dataclasses.replace(one_d, dtype="float32")) == "serial"
    assert xla.plan(one_d, _select._planner("cpu").context)[0].key == "xla.f64_1d"

    def compute(s):  # seconds spent on products: the cost less the operand traffic
        c = xla._estimate(s, CONSTANTS)[0] - CONSTANTS["launch_seconds"]
        c -= math.prod(s.y_shape) * CONSTANTS["xla_output_seconds"]
        return c - xla.operand_bytes(s) / CONSTANTS["stream_bytes"]

    # the same products per output channel pair: only the route's speedup differs
    wide = spec((8, 128, 28, 28), (128, 128, 3, 3), padding=1)
    narrow = spec((8, 128, 28, 28), (64, 128, 3, 3), padding=1)
    assert (xla.route(wide), xla.route(narrow)) == ("parallel", "serial")
    per_macs = compute(narrow) / narrow.macs / (compute(wide) / wide.macs)
    sat = xla.saturation(128 * 128, CONSTANTS["xla_channel_half"]) / xla.saturation(
        128 * 64, CONSTANTS["xla_channel_half"])
    assert per_macs == pytest.approx(CONSTANTS["xla_parallel_speedup"] * sat, rel=1e-6)
    # the dilated route skips the inserted zeros: a quarter of the products in 2-D
    rate = CONSTANTS["xla_dilated_flops"] * xla.saturation(
        128 * 64, CONSTANTS["xla_dilated_channel_half"])
    assert compute(transposed) == pytest.approx(2 * transposed.macs / 4 / rate, rel=1e-6)


def test_xla_cost_charges_each_output_element():
    """Beside its products, XLA's convolution costs a fixed time per output element
    (measured: 8 x 16 x 2048 -> 32 channels in 1-D take 0.51 ms with one tap, 3.0 ms with
    31, not 1/31 of it), on every route but 1-D float64's own loop."""
    from jconv._algorithms import xla

    c = dict(reference().constants)
    assert c["xla_output_seconds"] > 0
    free = {**c, "xla_output_seconds": 0.0}
    one_tap = conv_layer("t", (8, 16, 2048), (32, 16, 1), "float32").spec
    transposed = conv_transpose_layer("t", (8, 128, 16, 16), (128, 64, 4, 4), "float32",
                                      stride=2, padding=1).spec
    f64 = dataclasses.replace(one_tap, dtype="float64")
    for s in (one_tap, one_tap.kernel_grad(), transposed, f64):
        extra = xla._estimate(s, c)[0] - xla._estimate(s, free)[0]
        expected = 0.0 if xla.route(s) == "f64_1d" else math.prod(s.y_shape) * c[
            "xla_output_seconds"]
        assert extra == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_page_faults_cost_the_whole_block_past_the_reuse_size():
    """A scratch block larger than the allocator keeps for reuse is mapped afresh on every
    call and every page of it faults (measured: XLA writing 30 MiB costs 0.7 ms beyond
    streaming, 34 MiB 12.6 ms): the cost steps from nothing to the whole block."""
    from jconv._algorithms._common import fault_seconds

    c = reference().constants
    reuse = c["alloc_reuse_bytes"]
    assert fault_seconds(reuse, c) == 0.0
    assert fault_seconds(reuse + 4096, c) == pytest.approx((reuse + 4096) / c["fault_bytes"])


def test_polyphase_phases_share_one_scratch_block():
    """XLA computes polyphase's phases before it interleaves them, so their scratch is
    live at once: the phases' form needs the sum of their workspaces, and pays the faults
    of that one block though no phase's own block would fault."""
    from jconv._algorithms import Choice, Context, Form, polyphase
    from jconv._algorithms._common import fault_seconds

    c = reference().constants
    spec = conv_layer("t", (16, 16, 56, 56), (32, 16, 7, 7), "float32", stride=2,
                      padding=3).spec.input_grad()
    each = c["alloc_reuse_bytes"] // 3  # four phases: one block past the reuse size

    def choose(sub):
        return Choice("xla", Form("xla", 1e-3, each, None), 1e-3)

    apart = polyphase.plan(spec, Context(c, choose))[0]
    alone = polyphase.plan(spec, Context(c, lambda sub: choose(sub)._replace(
        form=Form("xla", 1e-3, 0, None))))[0]
    assert "4 phases" in apart.detail
    room = alone.workspace
    assert apart.workspace == 4 * each + room
    assert apart.seconds - alone.seconds == pytest.approx(fault_seconds(4 * each + room, c))
    assert fault_seconds(each, c) == 0.0 < fault_seconds(4 * each + room, c)


def test_xla_cost_charges_grouped_layers_a_penalty():
    """XLA runs a grouped layer with more than a few channels per group slower than its
    groups one by one (measured: 8 groups of 16 -> 32 channels take twice the time of 8
    separate convolutions): its passes pay ``xla_group_penalty`` on the products; dense
    and depthwise layers (whose rate the channel saturation fits) do not."""
    from jconv._algorithms import xla

    c = dict(reference().constants)
    assert c["xla_group_penalty"] > 1
    free = {**c, "xla_group_penalty": 1.0}

    def layer(w_shape, groups):
        return conv_layer("t", (8, 64, 28, 28), w_shape, "float32", padding=1,
                          groups=groups).spec

    grouped = layer((64, 16, 3, 3), 4)
    for s in (grouped, grouped.input_grad(), grouped.kernel_grad()):
        assert xla._estimate(s, c)[0] > 1.2 * xla._estimate(s, free)[0]
    for spec in (layer((64, 64, 3, 3), 1), layer((64, 1, 3, 3), 64)):
        for s in (spec, spec.input_grad(), spec.kernel_grad()):
            assert xla._estimate(s, c)[0] == xla._estimate(s, free)[0]


def test_few_channel_factor_applies_to_narrow_forward_passes_only():
    """A calibrated ``few`` factor multiplies the estimate of a forward pass or input
    gradient with few channels per group, and nothing else: not a dense layer, and not a
    kernel gradient (whose "channels" are the batch)."""
    depthwise = conv_layer("t", (8, 64, 28, 28), (64, 1, 3, 3), "float32", padding=1,
                           groups=64).spec
    dense = conv_layer("t", (8, 64, 28, 28), (64, 64, 3, 3), "float32", padding=1).spec
    passes = [depthwise, depthwise.input_grad(), depthwise.kernel_grad(), dense]
    one = {"xla": {"base": 2.0, "few": 1.0}}
    three = {"xla": {"base": 2.0, "few": 3.0}}
    ratios = [_select.scale(three, "xla", s) / _select.scale(one, "xla", s) for s in passes]
    assert ratios == pytest.approx([3.0, 3.0, 1.0, 1.0])


def test_scale_rule_class_replaces_base_dims_and_few_multiply():
    """The one rule: a kernel-class scale replaces the base, per-dims and few factors
    multiply, and a form without refinements scales by its base."""
    scales = {"f": {"base": 2.0, "small": 5.0, "2d": 0.5, "few": 3.0}, "g": {"base": 1.5}}
    depthwise = conv_layer("t", (8, 64, 28, 28), (64, 1, 3, 3), "float32", padding=1,
                           groups=64).spec
    pointwise = conv_layer("t", (8, 64, 28), (64, 64, 1), "float32").spec
    assert _select.scale(scales, "f", depthwise) == pytest.approx(5.0 * 0.5 * 3.0)
    assert _select.scale(scales, "f", pointwise) == pytest.approx(2.0)
    assert _select.scale(scales, "g", depthwise) == pytest.approx(1.5)


@pytest.mark.parametrize("x_shape, w_shape, kw, fast", [
    ((8, 64, 28, 28), (64, 4, 3, 3), dict(padding=1, groups=16), True),
    ((8, 64, 28, 28), (64, 1, 3, 3), dict(padding=1, groups=64), True),
    ((8, 64, 28, 28), (64, 4, 3, 3), dict(padding=1, groups=16, stride=2), False),
    ((8, 64, 28, 28), (64, 16, 3, 3), dict(padding=1, groups=4), False),
    ((2, 64, 40, 40), (64, 8, 5, 5), dict(padding=2, groups=8), False),  # 200 terms: a loop
])
def test_taps_fused_form_scale_is_split_where_it_runs_fastest(x_shape, w_shape, kw, fast):
    """The fused form's own scale for few channels holds only where the form is one
    unrolled pass over contiguous windows: stride 1, undilated, at most 128 terms."""
    from jconv._algorithms import taps

    def keys(s):
        return {f.key for f in taps.plan(s, _select._planner("cpu").context)}

    spec = conv_layer("t", x_shape, w_shape, "float32", **kw).spec
    assert ("taps.fma_few" in keys(spec)) == fast
    assert ("taps.fma" in keys(spec)) == (not fast)
    # the input gradient of a strided layer is input-dilated: never the fast case
    assert ("taps.fma_few" in keys(spec.input_grad())) == (fast and "stride" not in kw)
