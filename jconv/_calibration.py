"""Calibration data: the cost model's machine constants and scales, per platform and device.

A calibration is a JSON file::

    {"platform": "cpu", "device_kind": "x86_64", "measured_on": "...",
     "constants": {"matmul_flops": 1.69e11, ...},
     "scales": {"taps.fma": {"base": 1.41}, "xla": {"base": 1.23, "1d": 0.49, ...}, ...},
     "measured": {"<spec key>": "winograd", ...}}

``constants`` feed the algorithms' raw cost models; ``scales`` map each form's raw
estimate to measured time (`jconv._select.scale` is the one rule that applies them);
``measured`` holds the choices of ``algorithm="measure"`` (user files only).

Where a calibration is looked for, first match wins:

1. the user file ``<dir>/<platform>-<device kind>.json``, where ``<dir>`` is
   ``$JCONV_CALIBRATION_DIR``, else ``$XDG_CACHE_HOME/jconv``, else ``~/.cache/jconv``
   (written by ``python -m jconv.calibrate`` and by measured mode);
2. the file shipped in the package for that platform and device kind.

A CPU's device kind is its architecture (``platform.machine()``); an accelerator's is
JAX's ``device_kind``. When the platform's devices are not attached (exporting for
``cuda`` from a CPU host) the device kind is unknown, and the platform's calibration is
used only when exactly one is known for it. Without a calibration, XLA's convolution
runs every pass.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import platform as _platform
import re
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

SHIPPED = Path(__file__).parent / "data"
ENV_DIR = "JCONV_CALIBRATION_DIR"
REFERENCE = "cpu-x86_64.json"
"""The shipped calibration every other one must match key for key (its constants)."""

_lock = threading.Lock()


@dataclasses.dataclass(frozen=True, eq=False)
class Calibration:
    """One device's constants and scales, and where they came from."""

    platform: str
    device_kind: str
    constants: Mapping[str, float]
    scales: Mapping[str, Mapping[str, float]]
    source: str
    measured_on: str = ""

    @property
    def name(self) -> str:
        return f"{self.platform}/{self.device_kind}"


def user_dir() -> Path:
    """The per-user calibration directory (see the module docstring)."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "jconv"


def _slug(kind: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", kind).strip("_") or "unknown"


def file_name(platform: str, kind: str) -> str:
    return f"{platform}-{_slug(kind)}.json"


@functools.cache
def device_kind(platform: str) -> str | None:
    """The device kind calibrations are keyed by, or None when no such device is attached."""
    if platform == "cpu":
        return _platform.machine() or "unknown"
    import jax

    try:
        devices = jax.devices(platform)
    except RuntimeError:
        return None
    return devices[0].device_kind if devices else None


def _read(path: Path) -> dict:
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"jconv: calibration file {path} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"jconv: calibration file {path} does not hold a JSON object")
    return data


@functools.lru_cache(maxsize=1)
def reference() -> Calibration:
    """The shipped reference calibration (its constants fix the keys every file needs)."""
    return _parse(_read(SHIPPED / REFERENCE), str(SHIPPED / REFERENCE))


def required_forms() -> set[str]:
    from ._algorithms import REGISTRY

    return {key for alg in REGISTRY.values() for key in alg.forms}


def _parse(data: dict, source: str) -> Calibration:
    """A `Calibration` from a file's contents; every constant the reference has and a
    ``base`` scale for every registered form are required."""
    constants = data.get("constants")
    scales = data.get("scales")
    if not isinstance(constants, dict) or not isinstance(scales, dict):
        raise ValueError(f"jconv: calibration file {source} needs 'constants' and 'scales' objects")
    if source != str(SHIPPED / REFERENCE):
        missing = sorted(set(reference().constants) - set(constants))
        if missing:
            raise ValueError(f"jconv: calibration file {source} lacks the constants {missing}")
    missing = sorted(k for k in required_forms() if "base" not in scales.get(k, {}))
    if missing:
        raise ValueError(f"jconv: calibration file {source} lacks a 'base' scale for the forms {missing}")
    return Calibration(
        str(data.get("platform", "")), str(data.get("device_kind", "")),
        {k: float(v) for k, v in constants.items()},
        {k: {f: float(v) for f, v in s.items()} for k, s in scales.items()},
        source, str(data.get("measured_on", "")),
    )


def _files(platform: str) -> list[tuple[Path, dict]]:
    """Every calibration file for ``platform``: the user's first, then the shipped ones."""
    out = []
    for folder in (user_dir(), SHIPPED):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"{platform}-*.json")):
            data = _read(path)
            if data.get("platform") == platform and "scales" in data:
                out.append((path, data))
    return out


@functools.cache
def lookup(platform: str) -> Calibration | None:
    """The calibration for ``platform``'s devices (module docstring), or None."""
    kind = device_kind(platform)
    files = _files(platform)
    if kind is not None:
        matches = [(p, d) for p, d in files if d.get("device_kind") == kind]
    else:
        kinds = {d.get("device_kind") for _, d in files}
        matches = files if len(kinds) == 1 else []
    if not matches:
        return None
    path, data = matches[0]
    return _parse(data, str(path))


def reload() -> None:
    """Forget the calibrations read so far (after a file changed)."""
    lookup.cache_clear()
    device_kind.cache_clear()


# -- measured choices -------------------------------------------------------------------


def user_file(platform: str) -> Path | None:
    kind = device_kind(platform)
    return None if kind is None else user_dir() / file_name(platform, kind)


def stored_choices(platform: str) -> dict[str, str]:
    """The measured choices stored for ``platform``'s device (spec key -> algorithm)."""
    path = user_file(platform)
    if path is None or not path.is_file():
        return {}
    choices = _read(path).get("measured", {})
    return dict(choices) if isinstance(choices, dict) else {}


def update_user_file(platform: str, **fields) -> Path:
    """Merge ``fields`` into the user file of ``platform``'s device (``measured`` is
    merged entry by entry; other fields are replaced), written atomically."""
    kind = device_kind(platform)
    if kind is None:
        raise RuntimeError(f"jconv: no {platform} device is attached")
    path = user_dir() / file_name(platform, kind)
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read(path) if path.is_file() else {}
        data.update(platform=platform, device_kind=kind)
        measured = dict(data.get("measured", {}))
        measured.update(fields.pop("measured", {}))
        data.update(fields)
        if measured:
            data["measured"] = measured
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    return path
