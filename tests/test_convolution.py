"""The FFT (overlap-save) convolution equals torch's direct convolution, values and gradients."""

import pytest
import torch

from neuralfx.convolution import (
    TRANSFORM_FILTERS,
    SpectralKernel,
    block_length,
    overlap_save_conv1d,
    use_fft,
)
from neuralfx.network import random_network


def rand(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("width", [5, 11, 32])
@pytest.mark.parametrize("extra", [0, 1, 21, 22, 23, 430])  # frames beyond one output frame
@pytest.mark.parametrize("batch", [1, 3])
def test_equals_direct_convolution(width, extra, batch):
    x = rand(batch, 7, width + extra, seed=1)
    w = rand(5, 7, width, seed=2)
    out = overlap_save_conv1d(x, SpectralKernel.from_weights(w))
    assert out.shape == (batch, 5, extra + 1)
    assert torch.allclose(out, torch.nn.functional.conv1d(x, w), atol=1e-10)


@pytest.mark.parametrize("block", [16, 32, 64])
def test_gradient_equals_direct_convolution(block):
    w = rand(6, 4, 11, seed=3)
    x = rand(2, 4, 50, seed=4).requires_grad_(True)
    upstream = rand(2, 6, 40, seed=5)
    (overlap_save_conv1d(x, SpectralKernel.from_weights(w, block)) * upstream).sum().backward()
    fft_grad = x.grad.clone()
    x.grad = None
    (torch.nn.functional.conv1d(x, w) * upstream).sum().backward()
    assert torch.allclose(fft_grad, x.grad, atol=1e-10)


def test_float32_error_is_at_rounding_level():
    w = rand(64, 257, 11, seed=6, dtype=torch.float32) * 0.05
    x = rand(2, 257, 200, seed=7, dtype=torch.float32).abs()
    direct = torch.nn.functional.conv1d(x, w)
    fft = overlap_save_conv1d(x, SpectralKernel.from_weights(w))
    assert (fft - direct).abs().max() < 1e-5 * direct.abs().max()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weights_transformed_in_slices_equal_one_transform(dtype):
    """The transform runs a few filters at a time (TRANSFORM_FILTERS): every slice, the last
    one partial, lands where one whole transform puts it."""
    w = rand(2 * TRANSFORM_FILTERS + 13, 9, 11, seed=9, dtype=dtype)
    kernel = SpectralKernel.from_weights(w)
    whole = torch.fft.rfft(w, n=kernel.block, dim=-1).conj().permute(2, 0, 1)
    assert kernel.spectrum.is_contiguous() and not kernel.spectrum.is_conj()
    assert kernel.spectrum.dtype == whole.dtype and torch.equal(kernel.spectrum, whole)
    x = rand(2, 9, 40, seed=10, dtype=dtype)
    direct = torch.nn.functional.conv1d(x, w)
    assert (overlap_save_conv1d(x, kernel) - direct).abs().max() < 1e-5 * direct.abs().max()


def relative_rms(a, b):
    return ((a - b).pow(2).mean() / b.pow(2).mean()).sqrt().item()


def test_packed_bf16_kernel_matches_direct_convolution_at_bf16_rounding():
    """The bf16 kernel: values and gradients as close to fp64 as a direct bf16 conv1d's."""
    w = rand(48, 129, 11, seed=11, dtype=torch.float32) * 0.05
    x = rand(2, 129, 90, seed=12, dtype=torch.float32).abs().requires_grad_(True)
    kernel = SpectralKernel.from_weights(w, dtype=torch.bfloat16)
    assert kernel.packed and kernel.spectrum.dtype == torch.bfloat16
    assert kernel.spectrum.shape == (17, 48, 2 * 129)
    exact = torch.nn.functional.conv1d(x.double(), w.double())
    upstream = rand(*exact.shape, seed=13)
    out = overlap_save_conv1d(x, kernel)
    assert out.dtype == torch.float32 and out.shape == exact.shape
    (out.double() * upstream).sum().backward()
    grad = x.grad.double()
    x.grad = None
    (exact * upstream).sum().backward()
    bf16 = torch.nn.functional.conv1d(x.detach().bfloat16(), w.bfloat16()).double()
    assert relative_rms(out.double(), exact) < 1.5 * relative_rms(bf16, exact)
    assert 1e-4 < relative_rms(grad, x.grad.double()) < 1e-2  # rounded, not wrong
    assert relative_rms(out.double(), exact) > 1e-4


def test_network_features_in_bf16_take_a_packed_kernel_and_an_fp32_gradient():
    net = random_network(33, 8, (11,), seed=0)
    x = rand(1, 33, 60, seed=14, dtype=torch.float32).requires_grad_(True)
    (f,) = net.features(x, torch.bfloat16)
    assert f.dtype == torch.float32
    f.sum().backward()
    assert x.grad.dtype == torch.float32
    assert net.spectral_kernel(0, x.device, torch.bfloat16).packed
    reference = torch.relu(torch.nn.functional.conv1d(x.detach(), net.weights[0]))
    assert relative_rms(f.detach(), reference) < 1e-2


def test_network_features_use_it_on_a_cpu_and_match_conv1d():
    net = random_network(33, 8, (2, 11), seed=0)
    x = rand(2, 33, 60, seed=8, dtype=torch.float32)
    features = net.features(x)
    for f, w in zip(features, net.weights):
        assert torch.allclose(f, torch.relu(torch.nn.functional.conv1d(x, w)), atol=1e-5)


def test_where_it_is_used():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert use_fft(11, cpu, torch.float32)
    assert use_fft(11, cpu, torch.bfloat16)  # packed: real bf16 products
    assert not use_fft(11, cuda, torch.float32)  # cuDNN and tensor cores instead
    assert not use_fft(2, cpu, torch.float32)  # too narrow to gain
    assert block_length(11) == 32 and block_length(32) == 64


def test_errors_name_the_sizes():
    kernel = SpectralKernel.from_weights(rand(2, 3, 11))
    with pytest.raises(ValueError, match="10 frames is shorter than the kernel \\(11\\)"):
        overlap_save_conv1d(rand(1, 3, 10), kernel)
    with pytest.raises(ValueError, match="block = 8 frames is shorter than the kernel"):
        SpectralKernel.from_weights(rand(2, 3, 11), block=8)
    with pytest.raises(TypeError, match="complex128"):
        overlap_save_conv1d(rand(1, 3, 20, dtype=torch.float32), kernel)


def test_threads_share_one_kernel_per_network(monkeypatch):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import neuralfx.network as network

    calls = []
    original = SpectralKernel.from_weights

    def slow(weights, block=None, dtype=None):
        calls.append(threading.get_ident())
        time.sleep(0.05)  # widen the window in which a second thread could build it again
        return original(weights, block, dtype)

    monkeypatch.setattr(network.SpectralKernel, "from_weights", slow)
    net = random_network(65, 16, (11,), seed=3)
    with ThreadPoolExecutor(4) as pool:
        kernels = list(pool.map(lambda _: net.spectral_kernel(0, torch.device("cpu"),
                                                              torch.float32), range(8)))
    assert len(calls) == 1 and all(k is kernels[0] for k in kernels)
