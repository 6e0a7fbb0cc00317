"""Valid 1-D convolution (cross-correlation, as ``torch.nn.functional.conv1d``) by overlap-save
FFT blocks, for the random network's fixed weights.

Why: with 1025 input channels and a width of 11 frames, a direct convolution costs ``C K``
multiply-adds per output frame and filter. In blocks of ``L`` frames transformed by a real FFT,
each of the ``L/2 + 1`` frequencies is one complex product over the channels and yields
``L - K + 1`` output frames, about ``2 C`` real multiply-adds per frame for ``L = 32``: a third
of the work. The weights are transformed once and kept. The result equals the direct
convolution up to float rounding (tested).

In bf16 the complex products run as real bf16 products (fp32 sums) of the interleaved real and
imaginary parts: on an AVX512-BF16 CPU they took 0.04 / 0.06 s (forward / backward, classic
network, 10 s) against 0.13 / 0.10 s for complex64. The transforms stay fp32.

On a GPU the direct convolution (cuDNN, bf16/TF32 tensor cores) is used instead: the tensor
cores are the larger win there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Below this width the FFT saves little; above it the blocks grow with the width.
MIN_FFT_WIDTH = 5
# Filters transformed at a time: permuting the whole transform in one go is a strided copy of
# the largest tensor (570 MB for the classic network) beside the transform itself; in slices
# the build took 0.8-0.9 s instead of 2.4-4.4 s in fresh processes (BENCHMARKS.md)
TRANSFORM_FILTERS = 64


def block_length(width: int) -> int:
    """FFT block length for a kernel ``width``: the power of two >= 2 * width, at least 32.

    Measured on a 2-core CPU (4096 filters, 1025 bins, width 11): 32 ran faster than 64 for one
    chunk (the transformed weights are read once per product, so their size matters).
    """
    return max(32, 1 << (2 * width - 1).bit_length())


def use_fft(width: int, device: torch.device, dtype: torch.dtype) -> bool:
    """Whether :func:`overlap_save_conv1d` is the faster path here (CPU, width >= 5)."""
    return (device.type == "cpu" and dtype in (torch.float32, torch.float64, torch.bfloat16)
            and width >= MIN_FFT_WIDTH)


@dataclass(frozen=True)
class SpectralKernel:
    """Weights ``(filters, channels, width)`` transformed for blocks of ``block`` frames,
    conjugated (a correlation): ``spectrum (block // 2 + 1, filters, channels)`` complex, or in
    bf16 ``(block // 2 + 1, filters, 2 * channels)`` real, each channel's real and imaginary
    parts side by side ("packed")."""

    spectrum: torch.Tensor
    width: int
    block: int

    @property
    def packed(self) -> bool:
        return not self.spectrum.is_complex()

    def exact(self) -> SpectralKernel:
        """The same (bf16-rounded) weights with fp32 products: bf16 products round their
        results, which makes the loss noisy at the scale of an optimisation's last steps."""
        if not self.packed or self.spectrum.dtype == torch.float32:
            return self
        return SpectralKernel(self.spectrum.float(), self.width, self.block)

    @classmethod
    def from_weights(cls, weights: torch.Tensor, block: int | None = None,
                     dtype: torch.dtype | None = None) -> SpectralKernel:
        """``dtype``: None for a complex spectrum of the weights' precision, ``torch.bfloat16``
        for a packed one (transformed in the weights' precision, then rounded once)."""
        width = weights.shape[-1]
        block = block_length(width) if block is None else block
        if block < width:
            raise ValueError(f"block = {block} frames is shorter than the kernel ({width})")
        if dtype not in (None, torch.bfloat16):
            raise ValueError(f"dtype = {dtype}: None (complex) or torch.bfloat16 (packed)")
        filters, channels, _ = weights.shape
        bins = block // 2 + 1
        if dtype is None:
            spectrum = torch.empty(bins, filters, channels, device=weights.device,
                                   dtype=torch.promote_types(weights.dtype, torch.complex64))
            parts = spectrum
        else:
            spectrum = torch.empty(bins, filters, 2 * channels, device=weights.device,
                                   dtype=dtype)
            parts = spectrum.view(bins, filters, channels, 2)
        for i in range(0, filters, TRANSFORM_FILTERS):
            part = torch.fft.rfft(weights[i:i + TRANSFORM_FILTERS], n=block, dim=-1)
            part = part.conj().permute(2, 0, 1)
            if dtype is not None:
                part = torch.view_as_real(part.resolve_conj())
            parts[:, i:i + TRANSFORM_FILTERS] = part
        return cls(spectrum, width, block)


class _FrequencyProduct(torch.autograd.Function):
    """``Y[f] = W[f] @ X[f]`` with a fixed complex ``W (F, N, C)``.

    The backward ``W^H @ dY`` is computed as ``(dY^H @ W)^H`` so the large ``W`` is read in
    its stored layout (autograd's default conjugates and copies it on every call)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(w)
        return w @ x

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (w,) = ctx.saved_tensors
        return (grad.mH @ w).mH, None


class _PackedFrequencyProduct(torch.autograd.Function):
    """:class:`_FrequencyProduct` with a packed real ``W (F, N, 2C)`` (bf16, or fp32 for
    :meth:`SpectralKernel.exact`): ``x (F, C, K)`` complex becomes the real ``(F, 2C, 2K)``
    whose product with ``W`` holds ``Re Y`` and ``Im Y`` side by side; the backward is one
    product with ``W^T``. Sums are fp32; bf16 results are rounded to bf16."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(w)
        f, c, k = x.shape
        # row 2c multiplies Re W[c], row 2c+1 Im W[c]: (a + ib)(x + iy) = ax - by + i(ay + bx)
        rows = torch.empty(f, c, 2, 2 * k, dtype=w.dtype, device=x.device)
        rows[:, :, 0, :k] = x.real
        rows[:, :, 1, :k] = -x.imag
        rows[:, :, 0, k:] = x.imag
        rows[:, :, 1, k:] = x.real
        y = (w @ rows.view(f, 2 * c, 2 * k)).float()
        return torch.complex(y[..., :k], y[..., k:])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (w,) = ctx.saved_tensors
        grad = grad.resolve_conj()
        f, _, k = grad.shape
        # W^H g = (A^T - i B^T)(g_r + i g_i) = A^T g_r + B^T g_i + i (A^T g_i - B^T g_r)
        p = (w.mT @ torch.cat([grad.real, grad.imag], -1).to(w.dtype)).float()
        p = p.view(f, -1, 2, 2 * k)
        return torch.complex(p[:, :, 0, :k] + p[:, :, 1, k:],
                             p[:, :, 0, k:] - p[:, :, 1, :k]), None


def overlap_save_conv1d(x: torch.Tensor, kernel: SpectralKernel) -> torch.Tensor:
    """Valid cross-correlation, as ``conv1d(x, weights)``; differentiable with respect to ``x``.

    ``(batch, channels, frames) -> (batch, filters, frames - width + 1)``. With a packed (bf16)
    kernel ``x`` is transformed in fp32 and the result is fp32."""
    batch, channels, frames = x.shape
    width, block = kernel.width, kernel.block
    out_frames = frames - width + 1
    if out_frames < 1:
        raise ValueError(f"{frames} frames is shorter than the kernel ({width})")
    hop = block - width + 1  # valid outputs per block
    blocks = -(-out_frames // hop)
    if kernel.packed:
        x = x.float()
    padded = torch.nn.functional.pad(x, (0, (blocks - 1) * hop + block - frames))
    spec = torch.fft.rfft(padded.unfold(-1, block, hop), dim=-1)  # (B, C, blocks, F)
    bins = spec.shape[-1]
    spec = spec.permute(3, 1, 0, 2).reshape(bins, channels, batch * blocks)
    if kernel.packed:
        out = _PackedFrequencyProduct.apply(spec, kernel.spectrum)  # (F, N, B * blocks)
    elif kernel.spectrum.dtype != spec.dtype:
        raise TypeError(f"kernel is {kernel.spectrum.dtype}, input spectrum is {spec.dtype}")
    else:
        out = _FrequencyProduct.apply(spec, kernel.spectrum)
    out = out.reshape(bins, -1, batch, blocks).permute(2, 1, 3, 0)  # (B, N, blocks, F)
    y = torch.fft.irfft(out, n=block, dim=-1)[..., :hop]
    return y.reshape(batch, -1, blocks * hop)[..., :out_frames]
