"""Strict test configuration: float64 available, no silent rank promotion."""

import os
import shutil
import tempfile
import uuid

# The suite compiles some thousands of small programs, and compiling is most of its time.
# XLA's CPU backend compiles them about three times faster at LLVM optimisation level 0
# with its classic fusion emitters; the HLO (what jconv emits, how XLA fuses it) is the
# same, the machine code is slower. With the newer emitters, level 0 alone lets fused
# copies of one value round apart (docs/accuracy.md), so the two flags go together.
# XLA_FLAGS of your own (even empty: XLA's defaults) replace these; CI runs the
# conformance suite and the examples once more with XLA's defaults.
TEST_XLA_FLAGS = ("--xla_cpu_multi_thread_eigen=true --xla_backend_optimization_level=0 "
                  "--xla_cpu_use_fusion_emitters=false")
os.environ.setdefault("XLA_FLAGS", TEST_XLA_FLAGS)
# user calibrations and measured choices: a fresh directory, not the user's own
os.environ["JCONV_CALIBRATION_DIR"] = tempfile.mkdtemp(prefix="jconv-calibration-")
# Most of the suite's time is XLA compiling, and many tests (and the examples and proofs
# they run in subprocesses) compile the very same programs: one compilation cache per run,
# shared by the xdist workers (they share the run's uid) and the subprocesses (through the
# environment), removed at the end. An entry read while another process still writes it
# fails to decompress: JAX warns and compiles afresh (pyproject lets that warning pass).
# A cache of the developer's own is left alone.
_OWN_CACHE = "JAX_COMPILATION_CACHE_DIR" not in os.environ
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex


def _cache_dir(run: str) -> str:
    return os.path.join(tempfile.gettempdir(), f"jconv-xla-cache-{run}")


if _OWN_CACHE:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache_dir(_RUN)
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile(
    "jconv",
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("jconv")


def pytest_configure(config):
    """The controller hands its run uid to the xdist workers (so they share one cache)."""
    if _OWN_CACHE and not hasattr(config, "workerinput") and hasattr(config.option, "testrunuid"):
        config.option.testrunuid = config.option.testrunuid or _RUN


def pytest_unconfigure(config):
    """The controller removes the run's compilation cache."""
    if _OWN_CACHE and not hasattr(config, "workerinput"):
        shutil.rmtree(_cache_dir(getattr(config.option, "testrunuid", None) or _RUN),
                      ignore_errors=True)
