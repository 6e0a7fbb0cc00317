"""Phase reconstruction on a stream: real-time iterative spectrogram inversion with look-ahead.

RTISI-LA (Zhu, Beauregard & Wyse, IEEE TASLP 2007): frames of target magnitude arrive one at
a time; the newest ``lookahead + 1`` frames stay open and are refined Griffin-Lim style against
the partial reconstruction (the committed frames before them are fixed); then the oldest one is
committed and one hop of audio becomes final. The frames and samples are those of
:func:`neuralfx.spectral.stft` / :func:`neuralfx.spectral.istft` (Hann window, centred frames:
frame ``t`` is centred on sample ``t * hop``), so the output lines up sample by sample with
:func:`neuralfx.spectral.griffin_lim`'s.

The initial phase of a new frame: the phase hint when one is given (style transfer: the input's
own phase), otherwise the phase of the partial reconstruction over the frame (the overlap of the
frames before it, RTISI's estimate), and where that is empty (the first frame, silence) the
previous frame's phase advanced by each bin's centre frequency over one hop.

Latency, with ``d = ceil((n_fft // 2) / hop)`` (2 at 4x overlap) and ``k = lookahead``:

- ``latency_frames = k + d``: the push of frame ``m`` (counting from 0) returns the output
  samples ``[(m - latency_frames) * hop, (m - latency_frames + 1) * hop)`` (None while that is
  negative). The ``d`` frames are the ones that still overlap a sample once the frame centred
  on it is in: a sample is final when every frame that sees it is committed.
- ``latency_samples = (k + 2 d - 1) * hop`` (``n_fft + (k - 1) * hop`` at 4x overlap): the delay
  of a stream that takes its input in hops, pushes each frame as soon as its last input sample
  (``m * hop + n_fft // 2 - 1``, the centred frame's look into the future) has arrived, and
  plays each returned hop at once: ``out[n + latency_samples] = reconstruction[n]``.
  At 22050 Hz, n_fft 2048, hop 512: 3072 samples (139 ms) for ``k = 3``, 5120 (232 ms) for
  ``k = 7``, the most that stays within 250 ms.
"""

from __future__ import annotations

import math

import torch


def _check_sizes(n_fft: int, hop_length: int, lookahead: int, iterations: int,
                 momentum: float) -> None:
    for name, value in (("n_fft", n_fft), ("hop_length", hop_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if n_fft % hop_length:
        raise ValueError(f"hop_length {hop_length} must divide n_fft {n_fft}")
    for name, value in (("lookahead", lookahead), ("iterations", iterations)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")


class StreamingPhase:
    """Frame-by-frame phase reconstruction (RTISI-LA), one stream at a time.

    ``push(magnitude (bins,), phase_hint (bins,) | None)`` returns the next finished hop of
    audio ``(hop,)``, or None while the look-ahead fills; ``flush()`` returns the rest
    ``(samples,)`` (up to the end of the last frame) and starts a new stream. The latency is
    fixed (see the module docstring): ``latency_frames = lookahead + ceil((n_fft // 2) / hop)``
    pushes, ``latency_samples = (lookahead + 2 ceil((n_fft // 2) / hop) - 1) * hop``.

    Args:
        n_fft, hop_length: the STFT's; ``hop_length`` must divide ``n_fft``.
        lookahead: frames after the one being committed that are refined with it.
        iterations: refinement passes over the open frames per push (each frame gets
            ``(lookahead + 1) * iterations``); 0 uses the initial phase as it is (with a
            hint for every frame: exactly ``istft(magnitude * exp(i hint))``).
        momentum: fast Griffin-Lim's acceleration (Perraudin et al. 2013) applied per frame
            over its passes; 0 is the plain update. 0.5 (the default) converges further at the
            same cost (``python -m benchmarks.streaming_phase``); 0.99, offline GL's, overshoots
            on so few passes.

    The state is a few frames: the open frames, and the overlap-add of the samples they and
    the last committed frames cover (``n_fft + (lookahead + 2) * hop`` samples); it does not
    grow with the stream.
    """

    def __init__(self, n_fft: int, hop_length: int, lookahead: int = 3, iterations: int = 4,
                 momentum: float = 0.5):
        _check_sizes(n_fft, hop_length, lookahead, iterations, momentum)
        self.n_fft, self.hop_length = n_fft, hop_length
        self.lookahead, self.iterations, self.momentum = lookahead, iterations, float(momentum)
        self.bins = n_fft // 2 + 1
        self._half = n_fft // 2
        overlap = -(-self._half // hop_length)  # frames still open over a centred sample
        self.latency_frames = lookahead + overlap
        self.latency_samples = (lookahead + 2 * overlap - 1) * hop_length
        self._capacity = n_fft + (lookahead + 2) * hop_length
        self._advance = (2 * math.pi * hop_length / n_fft) * torch.arange(self.bins)
        self._device: torch.device | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next push is frame 0 of a new one."""
        self._pushed = 0  # frames pushed; the open ones are the last len(self._open) of them
        self._emitted = 0  # output samples returned
        self._origin = -self._half  # the sample the buffers start at
        self._open: list[dict] = []  # magnitude, unit phase, windowed signal, momentum state
        self._last_unit: torch.Tensor | None = None  # the newest frame's unit phase
        if self._device is not None:
            self._allocate(self._device)

    def _allocate(self, device: torch.device) -> None:
        self._device = device
        self._window = torch.hann_window(self.n_fft, device=device)
        self._window_sq = self._window.square()
        self._advance = self._advance.to(device)
        self._num = torch.zeros(self._capacity, device=device)  # sum of windowed frames
        self._env = torch.zeros(self._capacity, device=device)  # sum of squared windows
        self._inv_env = torch.zeros(self._capacity, device=device)  # 1 / env, 0 where none

    # --- one frame ---------------------------------------------------------------------------

    def _span(self, frame: int) -> slice:
        lo = frame * self.hop_length - self._half - self._origin
        return slice(lo, lo + self.n_fft)

    def _analyse(self, frame: int) -> torch.Tensor:
        """The spectrum ``(bins,)`` of the current reconstruction under ``frame``'s window."""
        span = self._span(frame)
        return torch.fft.rfft(self._window * self._num[span] * self._inv_env[span])

    def _synthesise(self, entry: dict) -> torch.Tensor:
        return self._window * torch.fft.irfft(entry["magnitude"] * entry["unit"], n=self.n_fft)

    def _refine(self, entry: dict) -> None:
        """One Griffin-Lim update of an open frame against everything around it."""
        spectrum = self._analyse(entry["frame"])
        if self.momentum:
            accelerated = spectrum + self.momentum * (spectrum - entry["previous"])
            entry["previous"] = spectrum
            spectrum = accelerated
        size = spectrum.abs()
        # a bin with nothing in the reconstruction keeps its phase
        entry["unit"] = torch.where(size > 0, spectrum / size.clamp_min(1e-30), entry["unit"])
        signal = self._synthesise(entry)
        self._num[self._span(entry["frame"])] += signal - entry["signal"]
        entry["signal"] = signal

    def _initial_unit(self, frame: int, hint: torch.Tensor | None) -> torch.Tensor:
        if hint is not None:
            return torch.polar(torch.ones_like(hint), hint)
        last = self._open[-1]["unit"] if self._open else self._last_unit
        previous = (torch.zeros(self.bins, device=self._device) if last is None
                    else last.angle())
        extrapolated = torch.polar(torch.ones(self.bins, device=self._device),
                                   previous + self._advance)
        spectrum = self._analyse(frame)  # the frames before it, where they overlap it
        size = spectrum.abs()
        return torch.where(size > 0, spectrum / size.clamp_min(1e-30), extrapolated)

    def _open_frame(self, magnitude: torch.Tensor, hint: torch.Tensor | None) -> None:
        frame = self._pushed
        entry = {"frame": frame, "magnitude": magnitude,
                 "unit": self._initial_unit(frame, hint),
                 "previous": torch.zeros(self.bins, dtype=torch.complex64, device=self._device)}
        entry["signal"] = self._synthesise(entry)
        span = self._span(frame)
        self._num[span] += entry["signal"]
        self._env[span] += self._window_sq
        env = self._env[span]
        # torch.istft's threshold: samples no window reaches stay 0
        self._inv_env[span] = torch.where(env > 1e-11, 1.0 / env.clamp_min(1e-11), 0.0)
        self._open.append(entry)
        self._pushed += 1

    def _step(self) -> None:
        """Refine the open frames (oldest first), then commit the oldest."""
        for _ in range(self.iterations):
            for entry in self._open:
                self._refine(entry)
        self._last_unit = self._open[-1]["unit"]
        self._open.pop(0)
        self._drop()

    # --- the stream ----------------------------------------------------------------------------

    def _final_until(self) -> int:
        """Samples before this are final: every frame that sees them is committed."""
        committed = self._pushed - len(self._open)
        return committed * self.hop_length - self._half

    def _take(self, stop: int) -> torch.Tensor:
        lo, hi = self._emitted - self._origin, stop - self._origin
        out = self._num[lo:hi] * self._inv_env[lo:hi]
        self._emitted = stop
        self._drop()
        return out

    def _drop(self) -> None:
        """Forget the samples nothing needs any more: the buffers start at the first sample
        that is not returned yet or, if earlier, where the oldest open frame starts."""
        oldest = self._pushed - len(self._open)
        start = min(self._emitted, oldest * self.hop_length - self._half)
        shift = start - self._origin
        if shift > 0:
            for name in ("_num", "_env", "_inv_env"):
                buffer = getattr(self, name)
                buffer[:-shift] = buffer[shift:].clone()
                buffer[-shift:] = 0.0
            self._origin = start

    def _check_frame(self, name: str, value: torch.Tensor) -> torch.Tensor:
        if not isinstance(value, torch.Tensor) or value.shape != (self.bins,):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"{name} must be a tensor of shape ({self.bins},) (n_fft "
                             f"{self.n_fft}), got {shape}")
        if self._device is None:
            self._allocate(value.device)
        return value.detach().to(self._device, torch.float32)

    def push(self, magnitude: torch.Tensor, phase_hint: torch.Tensor | None = None
             ) -> torch.Tensor | None:
        """Add the next frame's target magnitude ``(bins,)`` (and, if known, its phase
        ``(bins,)`` in radians as the initial estimate). Returns the next ``hop`` samples of
        the reconstruction, or None while the look-ahead fills."""
        magnitude = self._check_frame("magnitude", magnitude)
        hint = None if phase_hint is None else self._check_frame("phase_hint", phase_hint)
        self._open_frame(magnitude, hint)
        if len(self._open) > self.lookahead:
            self._step()
        stop = self._emitted + self.hop_length
        return self._take(stop) if stop <= self._final_until() else None

    def push_frames(self, magnitude: torch.Tensor, phase_hint: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """:meth:`push` for each frame of ``magnitude (bins, frames)`` (and ``phase_hint``,
        the same shape); returns the finished samples ``(samples,)``, possibly none."""
        if magnitude.dim() != 2 or (phase_hint is not None and phase_hint.shape != magnitude.shape):
            hint = None if phase_hint is None else tuple(phase_hint.shape)
            raise ValueError(f"magnitude must be (bins, frames) and phase_hint None or the same "
                             f"shape, got {tuple(magnitude.shape)} and {hint}")
        pieces = [self.push(magnitude[:, t], None if phase_hint is None else phase_hint[:, t])
                  for t in range(magnitude.shape[1])]
        pieces = [p for p in pieces if p is not None]
        return torch.cat(pieces) if pieces else torch.zeros(0, device=magnitude.device)

    def flush(self) -> torch.Tensor:
        """Finish the stream: refine and commit the open frames (each gets its full number of
        passes) and return the remaining samples ``(samples,)``, up to the end of the last
        frame (``(frames - 1) * hop + n_fft - n_fft // 2``). Then the stream starts anew."""
        if self._device is None or self._pushed == 0:
            self.reset()
            return torch.zeros(0, device=self._device)
        while self._open:
            self._step()
        end = (self._pushed - 1) * self.hop_length - self._half + self.n_fft
        out = self._take(max(end, self._emitted))
        self.reset()
        return out


def rtisi_la(magnitude: torch.Tensor, n_fft: int, hop_length: int, length: int, *,
             lookahead: int = 3, iterations: int = 4, phase_hint: torch.Tensor | None = None,
             momentum: float = 0.5) -> torch.Tensor:
    """The offline equivalent of :class:`StreamingPhase`: every frame of ``magnitude (bins,
    frames)`` pushed, then flushed; the samples of :func:`neuralfx.spectral.istft`'s centred
    frames, cut or zero-padded to ``length`` as ``istft`` does. ``phase_hint``: ``(bins,
    frames)`` radians or None. Returns ``(length,)``."""
    bins = n_fft // 2 + 1 if isinstance(n_fft, int) and n_fft > 0 else None
    if not isinstance(magnitude, torch.Tensor) or magnitude.dim() != 2 \
            or magnitude.shape[0] != bins:
        shape = tuple(magnitude.shape) if isinstance(magnitude, torch.Tensor) else magnitude
        raise ValueError(f"magnitude must be ({bins}, frames) for n_fft {n_fft}, got {shape}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ValueError(f"length must be an integer >= 0, got {length!r}")
    stream = StreamingPhase(n_fft, hop_length, lookahead, iterations, momentum)
    audio = torch.cat([stream.push_frames(magnitude, phase_hint), stream.flush()])
    if audio.shape[0] >= length:
        return audio[:length]
    return torch.nn.functional.pad(audio, (0, length - audio.shape[0]))
