"""Plans per platform: lowering without a device (jax.export), calibration files and
their precedence, measured choices across processes, symbolic shapes, and the plan
protocol's rules (every form has a scale, no algorithm imports the selector)."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import export

import jconv
from jconv import _calibration, _select
from jconv._algorithms import REGISTRY

ROOT = Path(__file__).resolve().parent.parent

# (x shape, w shape, conv keywords): layers whose CPU choices are not XLA's convolution
LAYERS = [
    ((8, 64, 32, 32), (64, 64, 3, 3), dict(padding=1)),             # winograd on this CPU
    ((2, 8, 64, 64), (8, 8, 15, 15), dict(padding=7)),              # fft
    ((8, 32, 28, 28), (32, 1, 3, 3), dict(padding=1, groups=32)),   # taps
    ((8, 64, 14, 14), (128, 64, 1, 1), {}),                         # pointwise
]


def _lowered(platforms, xs, ws, kw, algorithm="auto"):
    """The StableHLO text of a layer's forward pass and both gradients, exported."""
    def loss(x, w):
        return jnp.sum(jconv.conv(x, w, algorithm=algorithm, **kw) ** 2)

    step = jax.jit(jax.grad(loss, argnums=(0, 1)))
    args = (jax.ShapeDtypeStruct(xs, jnp.float32), jax.ShapeDtypeStruct(ws, jnp.float32))
    return export.export(step, platforms=platforms)(*args).mlir_module()


@pytest.fixture
def calibration_dir(tmp_path, monkeypatch):
    """A fresh user calibration directory; plans and calibrations are re-read."""
    monkeypatch.setenv(_calibration.ENV_DIR, str(tmp_path))
    _select.clear_plans()
    yield tmp_path
    monkeypatch.undo()
    _select.clear_plans()


def _write(folder: Path, platform: str, kind: str, **changes) -> Path:
    data = json.loads((_calibration.SHIPPED / _calibration.REFERENCE).read_text())
    data.update(platform=platform, device_kind=kind, **changes)
    path = folder / _calibration.file_name(platform, kind)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("platform", ["cuda", "tpu"])
def test_uncalibrated_platforms_lower_every_pass_to_xla(platform, calibration_dir):
    for xs, ws, kw in LAYERS:
        text = _lowered([platform], xs, ws, kw)
        assert text.count("stablehlo.convolution") == 3, (platform, xs, ws)
        assert "stablehlo.fft" not in text and "stablehlo.dot_general" not in text
    # the same layers on this CPU, calibrated, mostly leave XLA's convolution
    cpu = [_lowered(["cpu"], xs, ws, kw).count("stablehlo.convolution") for xs, ws, kw in LAYERS]
    assert sum(cpu) < 3 * len(LAYERS) / 2, cpu


def test_a_platform_calibration_is_used_when_given(calibration_dir):
    """A calibration for a platform whose devices are not attached applies when it is the
    only one for that platform; export then lowers its choices."""
    xs, ws, kw = LAYERS[2]  # depthwise: taps on the CPU calibration
    assert "stablehlo.convolution" in _lowered(["tpu"], xs, ws, kw)
    _write(calibration_dir, "tpu", "TPU v5 lite")
    _select.clear_plans()
    text = _lowered(["tpu"], xs, ws, kw)
    assert text.count("stablehlo.convolution") < 3
    plan = jconv.explain(xs, ws, platform="tpu", **kw)
    assert plan.calibration == "tpu/TPU v5 lite"
    assert "platform tpu, calibration tpu/TPU v5 lite" in str(plan)
    # a second kind for the same platform: which device is meant is unknown, so XLA's
    _write(calibration_dir, "tpu", "TPU v4")
    _select.clear_plans()
    assert _lowered(["tpu"], xs, ws, kw).count("stablehlo.convolution") == 3
    assert "no calibration for this device" in str(jconv.explain(xs, ws, platform="tpu", **kw))


def test_multi_platform_export_lowers_each_platform_with_its_own_choice(calibration_dir):
    xs, ws, kw = LAYERS[0]
    both = export.export(
        jax.jit(lambda x, w: jconv.conv(x, w, **kw)), platforms=["cpu", "cuda"]
    )(jax.ShapeDtypeStruct(xs, jnp.float32), jax.ShapeDtypeStruct(ws, jnp.float32))
    text = both.mlir_module()
    assert "stablehlo.convolution" in text  # cuda
    assert "stablehlo.dot_general" in text  # the CPU's Winograd products
    assert both.platforms == ("cpu", "cuda")


def test_user_calibration_overrides_the_shipped_one(calibration_dir):
    xs, ws, kw = LAYERS[1]
    kind = _calibration.device_kind("cpu")
    assert jconv.explain(xs, ws, **kw)["forward"].chosen != "xla"
    scales = json.loads((_calibration.SHIPPED / _calibration.REFERENCE).read_text())["scales"]
    scales["xla"] = {"base": 1e-6}  # XLA's convolution a million times faster than modelled
    path = _write(calibration_dir, "cpu", kind, scales=scales)
    _select.clear_plans()
    plan = jconv.explain(xs, ws, **kw)
    assert [p.chosen for p in plan.passes] == ["xla"] * 3
    assert _calibration.lookup("cpu").source == str(path)


def test_a_calibration_file_missing_scales_or_constants_is_refused(calibration_dir):
    kind = _calibration.device_kind("cpu")
    data = json.loads((_calibration.SHIPPED / _calibration.REFERENCE).read_text())
    del data["scales"]["taps.dot"]
    _write(calibration_dir, "cpu", kind, scales=data["scales"])
    _select.clear_plans()
    with pytest.raises(ValueError, match=r"lacks a 'base' scale for the forms \['taps.dot'\]"):
        _calibration.lookup("cpu")
    del data["constants"]["matmul_flops"]
    _write(calibration_dir, "cpu", kind, constants=data["constants"])
    _select.clear_plans()
    with pytest.raises(ValueError, match=r"lacks the constants \['matmul_flops'\]"):
        _calibration.lookup("cpu")


def test_every_registered_form_has_a_scale_in_every_shipped_calibration():
    shipped = sorted(_calibration.SHIPPED.glob("*.json"))
    assert shipped
    forms = {key for alg in REGISTRY.values() for key in alg.forms}
    for path in shipped:
        data = json.loads(path.read_text())
        cal = _calibration._parse(data, str(path))  # raises on a missing one
        assert forms <= set(cal.scales), path
        assert path.name == _calibration.file_name(data["platform"], data["device_kind"])


def test_plans_use_only_registered_forms():
    """The selector refuses a plan whose form has no registered (calibrated) key."""
    planner = _select.Planner("cpu", _calibration.reference())
    spec = jconv.explain((2, 8, 16, 16), (8, 8, 3, 3))["forward"].spec
    alg = REGISTRY["xla"]
    bad = alg._replace(plan=lambda s, ctx: tuple(f._replace(key="xla.new") for f in alg.plan(s, ctx)))
    saved = REGISTRY["xla"]
    REGISTRY["xla"] = bad
    try:
        with pytest.raises(RuntimeError, match=r"xla planned unregistered forms \{'xla.new'\}"):
            planner.plans(spec)
    finally:
        REGISTRY["xla"] = saved


def test_no_algorithm_module_imports_the_selector():
    for path in sorted((ROOT / "jconv" / "_algorithms").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any("_select" in n or "_calibration" in n for n in names), path.name
        assert "sys.modules" not in path.read_text(), path.name


def test_symbolic_batch_exports_and_matches():
    b, = export.symbolic_shape("b")
    x = jax.ShapeDtypeStruct((b, 8, 12, 12), jnp.float32)
    w = jax.ShapeDtypeStruct((8, 4, 3, 3), jnp.float32)

    def f(x, w):
        return jconv.conv(x, w, padding=1, groups=2)

    exported = export.export(jax.jit(f))(x, w)
    grads = export.export(jax.jit(jax.grad(lambda x, w: jnp.sum(f(x, w) ** 2), (0, 1))))(x, w)
    rng = np.random.default_rng(0)
    for n in (1, 3):
        xv = rng.standard_normal((n, 8, 12, 12)).astype(np.float32)
        wv = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
        ref = jax.lax.conv_general_dilated(xv, wv, (1, 1), ((1, 1), (1, 1)),
                                           feature_group_count=2)
        np.testing.assert_allclose(exported.call(xv, wv), ref, rtol=1e-5, atol=1e-5)
        gx, gw = grads.call(xv, wv)
        rx, rw = jax.grad(lambda x, w: jnp.sum(f(x, w) ** 2), (0, 1))(xv, wv)
        np.testing.assert_allclose(gx, rx, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(gw, rw, rtol=1e-4, atol=1e-3)
    with pytest.raises(jconv.AlgorithmRefused, match="its sizes are symbolic"):
        export.export(jax.jit(lambda x, w: jconv.conv(x, w, padding=1, groups=2,
                                                      algorithm="taps")))(x, w)


def test_measure_never_times_on_another_platform(calibration_dir, monkeypatch):
    """Under an export for cuda (not attached here), measure is auto: XLA's convolution,
    and nothing is timed on the host."""
    calls = []
    monkeypatch.setattr(_select, "_time_candidates", lambda *a: calls.append(a) or {})
    xs, ws, kw = LAYERS[0]
    text = _lowered(["cuda"], xs, ws, kw, algorithm="measure")
    assert text.count("stablehlo.convolution") == 3 and calls == []


MEASURE_SCRIPT = """
import json, sys
import numpy as np, jax.numpy as jnp
import jconv
from jconv import _select
timed = []
original = _select._time_candidates
_select._time_candidates = lambda p, s, e: timed.append(s) or original(p, s, e)
x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 8, 12, 12)), jnp.float32)
w = jnp.asarray(np.random.default_rng(1).standard_normal((8, 2, 3, 3)), jnp.float32)
jconv.conv(x, w, padding=1, groups=4, algorithm="measure").block_until_ready()
plan = jconv.explain(x.shape, w.shape, padding=1, groups=4, algorithm="measure")
print(json.dumps({"timed": len(timed), "chosen": plan["forward"].chosen}))
"""


def test_measured_choices_persist_across_processes(tmp_path):
    env = {**os.environ, _calibration.ENV_DIR: str(tmp_path), "JAX_PLATFORMS": "cpu"}

    def run():
        out = subprocess.run([sys.executable, "-c", MEASURE_SCRIPT], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    first, second = run(), run()
    assert first["timed"] == 3 and second["timed"] == 0  # the forward pass and both gradients
    assert second["chosen"] == first["chosen"] in jconv.algorithms()
    stored = json.loads(next(tmp_path.glob("cpu-*.json")).read_text())["measured"]
    assert len(stored) == 3 and first["chosen"] in stored.values()
