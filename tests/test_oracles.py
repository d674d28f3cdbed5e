"""Agreement with PyTorch (functional convs and torch.nn.grad), jax.lax and SciPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal

import jconv

torch = pytest.importorskip("torch")
F = torch.nn.functional
rng = np.random.default_rng(1)

TORCH_CASES = [
    ((2, 4, 17), (6, 2, 5), dict(stride=2, padding=2, dilation=2, groups=2)),
    ((2, 6, 12, 11), (6, 1, 3, 3), dict(stride=1, padding=1, dilation=1, groups=6)),
    ((1, 4, 10, 9), (8, 4, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=1)),
    ((1, 4, 10, 9), (12, 1, 3, 3), dict(stride=2, padding=1, dilation=1, groups=4)),
    ((1, 2, 6, 5, 7), (4, 1, 3, 2, 3), dict(stride=(1, 2, 2), padding=1, dilation=1, groups=2)),
]


def _torch_conv(nd):
    return (F.conv1d, F.conv2d, F.conv3d)[nd - 1]


def _torch_grads(nd):
    g = torch.nn.grad
    return ((g.conv1d_input, g.conv1d_weight), (g.conv2d_input, g.conv2d_weight),
            (g.conv3d_input, g.conv3d_weight))[nd - 1]


def close(a, b, rtol=1e-10):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * max(np.abs(b).max(), 1.0))


@pytest.mark.parametrize("case", range(len(TORCH_CASES)))
def test_forward_and_both_gradients_match_torch(case):
    xs, ws, kw = TORCH_CASES[case]
    nd = len(xs) - 2
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    y = jconv.conv(x, w, b, **kw)
    ref = _torch_conv(nd)(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kw).numpy()
    close(y, ref)
    dy = rng.standard_normal(y.shape)
    t_in, t_w = _torch_grads(nd)
    close(jconv.conv_input_grad(dy, w, xs, **kw),
          t_in(xs, torch.tensor(w), torch.tensor(dy), **kw).numpy())
    close(jconv.conv_kernel_grad(x, dy, ws, **kw),
          t_w(torch.tensor(x), ws, torch.tensor(dy), **kw).numpy())
    # and reverse mode of jconv.conv against torch autograd
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (_torch_conv(nd)(xt, wt, None, **kw) * torch.tensor(dy)).sum().backward()
    gx, gw = jax.grad(lambda x, w: jnp.vdot(jconv.conv(x, w, **kw), dy), (0, 1))(x, w)
    close(gx, xt.grad.numpy())
    close(gw, wt.grad.numpy())


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_match_torch(mode):
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3))
    y = jconv.conv(x, w, padding=(2, 1), padding_mode=mode)
    ref = torch.nn.Conv2d(3, 4, 3, padding=(2, 1), padding_mode=mode, bias=False, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(w))
    close(y, ref(torch.tensor(x)).detach().numpy())


@pytest.mark.parametrize(
    "xs,ws,kw",
    [
        ((2, 4, 7), (4, 3, 4), dict(stride=3, padding=2, output_padding=1, groups=2, dilation=1)),
        ((1, 6, 5, 4), (6, 2, 3, 3), dict(stride=2, padding=1, output_padding=1, groups=3, dilation=1)),
        ((1, 2, 4, 5), (2, 3, 2, 3), dict(stride=(1, 2), padding=(0, 2), output_padding=(1, 0), dilation=(2, 1))),
        ((1, 2, 3, 4, 3), (2, 2, 2, 3, 2), dict(stride=2, padding=1, output_padding=0)),
    ],
)
def test_conv_transpose_and_its_gradients_match_torch(xs, ws, kw):
    nd = len(xs) - 2
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ref = fn(xt, wt, bt, **kw)
    y = jconv.conv_transpose(x, w, b, **kw)
    close(y, ref.detach().numpy())
    dy = rng.standard_normal(y.shape)
    (ref * torch.tensor(dy)).sum().backward()
    gx, gw, gb = jax.grad(lambda x, w, b: jnp.vdot(jconv.conv_transpose(x, w, b, **kw), dy),
                          (0, 1, 2))(x, w, b)
    close(gx, xt.grad.numpy())
    close(gw, wt.grad.numpy())
    close(gb, bt.grad.numpy())


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize(
    "sa,sb",
    [((9,), (4,)), ((4,), (9,)), ((6, 7), (3, 2)), ((3, 2), (6, 7)), ((5, 4, 3), (2, 3, 2)), ((8,), (8,))],
)
@pytest.mark.parametrize("complex_", [False, True])
def test_convolve_and_correlate_match_scipy(mode, sa, sb, complex_):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    if complex_:
        a = a + 1j * rng.standard_normal(sa)
        b = b + 1j * rng.standard_normal(sb)
    close(jconv.convolve(a, b, mode), scipy.signal.convolve(a, b, mode, method="direct"))
    close(jconv.correlate(a, b, mode), scipy.signal.correlate(a, b, mode, method="direct"))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_axes_broadcast_like_fftconvolve(mode):
    a = rng.standard_normal((3, 1, 12, 4))
    b = rng.standard_normal((3, 5, 4, 1))
    for axes in ([2], [-2], (0, 2), 2):
        ax = [q % 4 for q in ([axes] if isinstance(axes, int) else axes)]
        try:
            ref = scipy.signal.fftconvolve(a, b, mode, axes=axes)
        except ValueError:
            with pytest.raises(ValueError):
                jconv.convolve(a, b, mode, axes=axes)
            continue
        if mode == "same":
            # SciPy crops *every* axis to a's shape, broadcast axes too (picking the middle
            # of b's broadcast axis); jconv keeps broadcast axes whole and centres only the
            # convolved ones.
            full = scipy.signal.fftconvolve(a, b, "full", axes=axes)
            ref = full[tuple(
                slice((b.shape[i] - 1) // 2, (b.shape[i] - 1) // 2 + a.shape[i]) if i in ax
                else slice(None) for i in range(4))]
        close(jconv.convolve(a, b, mode, axes=axes), ref, rtol=1e-9)


def test_circular_matches_the_dft_product():
    a, b = rng.standard_normal((2, 10)), rng.standard_normal((1, 4))
    ref = np.fft.ifft(np.fft.fft(a) * np.fft.fft(b, 10)).real
    close(jconv.convolve(a, b, "circular", axes=-1), ref)
    # a kernel longer than the period is aliased modulo the period
    h = rng.standard_normal(23)
    folded = np.bincount(np.arange(23) % 10, h, minlength=10)
    close(jconv.convolve(a[0], h, "circular"), np.fft.ifft(np.fft.fft(a[0]) * np.fft.fft(folded)).real)
    # correlate: circular cross-correlation = ifft(fft(a) conj(fft(b)))
    c = rng.standard_normal(10) + 1j * rng.standard_normal(10)
    z = rng.standard_normal(10) + 1j * rng.standard_normal(10)
    close(jconv.correlate(z, c, "circular"), np.fft.ifft(np.fft.fft(z) * np.conj(np.fft.fft(c))))


def test_lax_agrees_with_channels_last_dimension_numbers():
    x, w = rng.standard_normal((2, 9, 8, 6)), rng.standard_normal((3, 2, 2, 6))
    ref = jax.lax.conv_general_dilated(x, w, (2, 1), ((1, 1), (0, 2)), rhs_dilation=(1, 2),
                                       dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=3)
    y = jconv.conv(x, w, stride=(2, 1), padding=((1, 1), (0, 2)), dilation=(1, 2), groups=3,
                   channels_last=True)
    close(y, ref)
