"""Strict test configuration: float64 available, no silent rank promotion."""

import os
import tempfile

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
# user calibrations and measured choices: a fresh directory, not the user's own
os.environ["JCONV_CALIBRATION_DIR"] = tempfile.mkdtemp(prefix="jconv-calibration-")

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
