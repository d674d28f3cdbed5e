"""Long FIR filtering with `jconv.convolve`, against SciPy.

A minute of 48 kHz audio (two channels, batched) through a 1023-tap windowed-sinc
low-pass filter, in "same" mode: the result equals `scipy.signal.convolve` to float32
rounding, the tone above the cut-off is removed, and the plan shows the algorithm. The
timings are single calls, for orientation; `benchmarks/run.py` measures properly.

Run: python examples/fir_filter.py
"""

import time

import jax
import numpy as np
import scipy.signal

import jconv


def lowpass(taps: int, cutoff: float) -> np.ndarray:
    """A windowed-sinc low-pass filter (``cutoff`` as a fraction of the sample rate)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return (h / h.sum()).astype(np.float32)


def main() -> None:
    rate, seconds = 48_000, 60
    t = np.arange(rate * seconds) / rate
    rng = np.random.default_rng(0)
    low, high = np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 9_000 * t)
    audio = np.stack([low + high, 0.5 * low + high]).astype(np.float32)      # (2, T)
    audio += 0.01 * rng.standard_normal(audio.shape).astype(np.float32)
    h = lowpass(1023, 2_000 / rate)[None]                                    # (1, 1023)

    filt = jax.jit(lambda a, b: jconv.convolve(a, b, mode="same", axes=-1))
    y = filt(audio, h).block_until_ready()
    start = time.perf_counter()
    y = filt(audio, h).block_until_ready()
    ours = time.perf_counter() - start
    start = time.perf_counter()
    scipy.signal.convolve(audio, h, mode="same")  # float32, as jconv's
    theirs = time.perf_counter() - start
    ref = scipy.signal.convolve(audio.astype(np.float64), h.astype(np.float64), mode="same")

    err = np.linalg.norm(np.asarray(y, np.float64) - ref) / np.linalg.norm(ref)
    spectrum = np.abs(np.fft.rfft(np.asarray(y[0])))
    freqs = np.fft.rfftfreq(y.shape[-1], 1 / rate)
    kept = spectrum[np.argmin(np.abs(freqs - 440))] / spectrum.max()
    removed = spectrum[np.argmin(np.abs(freqs - 9_000))] / spectrum.max()
    print(f"audio {audio.shape}, filter {h.shape[-1]} taps: jconv {ours * 1e3:.1f} ms, "
          f"scipy.signal.convolve {theirs * 1e3:.1f} ms (one call each, after a warm-up for jconv)")
    print(f"relative difference to SciPy in float64: {err:.2e}")
    print(f"440 Hz kept at {kept:.3f} of the peak, 9 kHz left at {removed:.1e}")
    assert err < 1e-5 and kept > 0.9 and removed < 1e-3
    plan = jconv.explain((2, 1, audio.shape[-1]), (1, 1, h.shape[-1]), padding="same")
    print(f"the same-shaped layer's forward pass runs {plan['forward'].chosen!r}")


if __name__ == "__main__":
    main()
