"""Style transfer with a trained style on a stream: block by block, at a fixed latency.

Per channel: the input is resampled to the style's analysis rate (``soxr.ResampleStream``,
'HQ', or 'LQ' below 12 kHz: :func:`input_quality_for`), cut into the engine's centred STFT
frames (:func:`neuralfx.spectral.stft`'s: Hann, frame ``m`` centred on sample ``m * hop``,
zeros before sample 0), transformed with no look-ahead
(:class:`~neuralfx.trained.transfer.TransferStream`), given a phase by RTISI-LA starting from
the input frame's own (:class:`~neuralfx.trained.phase.StreamingPhase`), levelled, resampled
back, given its top octave, mixed with the dry input and held under the peak ceiling. Signals
are ``(channels, samples)``: time on the last axis.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from fractions import Fraction
from functools import lru_cache

import numpy as np
import soxr
import torch
from scipy.signal import sosfilt

from ..audio import PEAK_CEILING, k_weighting
from ..layout import check_sample_rate
from ..spectral import magnitude_from_log, stft_frames
from .model import TrainedStyle
from .phase import StreamingPhase
from .top_octave_stream import TopOctaveStream, top_octave_latency
from .transfer import TransferStream

QUALITY = "HQ"
# the input's way to the analysis rate where QUALITY's delay alone leaves no room within
# MAX_LATENCY_SECONDS (below 12 kHz): 3 ms instead of 116 at 8 kHz. Its band falls off over the
# input's top 20% (-8 dB at 85% of Nyquist), which the per-bin statistics absorb: 20 s streams
# at 8 kHz (speech, orchestra) came 1.004x / 1.07x the offline render's distance through it,
# 1.009x / 1.10x through QUALITY, correlation within 1%. The way back keeps QUALITY: the
# listener hears that band
INPUT_FALLBACK_QUALITY = "LQ"
# RTISI-LA: frames refined after the one being committed (at most; fewer where the latency
# would pass MAX_LATENCY_SECONDS), passes per push, acceleration
LOOKAHEAD, ITERATIONS, MOMENTUM = 3, 4, 0.5
MAX_LATENCY_SECONDS = 0.25
# the loudness match's memory: an exponential window of this share of the stream's age, from
# the first figure up to the last; the most it lifts the wet
LEVEL_AGE_SHARE, LEVEL_FIRST_SECONDS, LEVEL_SECONDS = 0.5, 0.5, 10.0
MAX_GAIN = 10 ** (24 / 20)
# the safety limiter's recovery (its attack is instant)
RELEASE_SECONDS = 0.05
# how long soxr's withholding is watched for (it settles into a fixed pattern within 0.1 s)
MEASURE_SECONDS = 1.0
# the largest float32 not above the ceiling: float32 output never reads above it
CEILING = float(np.nextafter(np.float32(PEAK_CEILING), np.float32(0))
                if np.float32(PEAK_CEILING) > PEAK_CEILING else np.float32(PEAK_CEILING))


def _resampler(in_rate: float, out_rate: float, channels: int,
               quality: str = QUALITY) -> soxr.ResampleStream:
    return soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality=quality)


def resampler_lag(in_rate: float, out_rate: float, step: int, seconds: float,
                  quality: str = QUALITY) -> Fraction:
    """The most a fresh ``soxr.ResampleStream`` from ``in_rate`` to ``out_rate`` is behind,
    in output samples: the largest ``pushed * out_rate / in_rate - returned`` over ``seconds``
    of zeros pushed ``step`` input samples at a time, plus one sample for the rounding of
    output counts that a longer run may meet. soxr returns time-aligned samples (output ``j``
    is input time ``j / out_rate``): this withholding is all of its delay. What it returns
    depends only on how much went in, not on how it was cut (checked by the tests)."""
    stream = _resampler(in_rate, out_rate, 1, quality)
    zeros = np.zeros(step, np.float32)
    pushes = max(1, int(seconds * in_rate) // step)
    returned = np.cumsum([stream.resample_chunk(zeros).shape[0] for _ in range(pushes)])
    pushed = step * np.arange(1, pushes + 1)
    ratio = Fraction(out_rate) / Fraction(in_rate)
    lag = pushed * float(ratio) - returned
    # exactly, where the float estimate is within its rounding of the largest
    near = np.flatnonzero(lag >= lag.max() - 1e-6)
    worst = max(int(pushed[i]) * ratio - int(returned[i]) for i in near)
    return worst + 1


@lru_cache(maxsize=32)
def stream_latency(sample_rate: float, analysis_rate: float, n_fft: int, hop: int,
                   latency_frames: int, input_quality: str = QUALITY) -> int:
    """The delay (samples at ``sample_rate``) a :class:`TrainedStream` always meets, for any
    block sizes.

    Three stages lag their input (each a worst case, in its own output's samples):

    - the input resampler (soxr at ``input_quality``): ``D1`` analysis samples
      (:func:`resampler_lag`, measured with 1-sample pushes);
    - framing and RTISI-LA: the frame centred on ``m * hop`` needs samples up to
      ``m * hop + n_fft // 2 - 1``, and once frame ``m`` is pushed the phase stream has the
      samples before ``(m + 1 - latency_frames) * hop`` final: ``D2 = n_fft // 2 +
      latency_frames * hop - 1`` analysis samples for input arriving one sample at a time
      (3583 at 22050 Hz, n_fft 2048, hop 512, look-ahead 3: ``StreamingPhase.latency_samples``
      plus ``hop - 1`` for input that does not arrive in whole hops);
    - the output resampler, fed one hop at a time: ``D3`` output samples (measured).

    After ``N`` input samples at least ``N - ((D1 + D2) / r + D3)`` output samples are ready
    (``r = analysis_rate / sample_rate``), so the whole number below that bound is always met:
    3583 samples (162.5 ms) at 22050 Hz, 10874 (246.6 ms) at 44100 Hz, 11645 (242.6 ms) at
    48000 Hz. The stages' worst cases need not coincide: simulated sample by sample for 30 s,
    the chain's own worst is 10153 at 44100 Hz and 11608 at 48000 Hz, but only a bound that
    adds them holds however long the stream runs.
    """
    r = Fraction(analysis_rate) / Fraction(sample_rate)
    d2 = n_fft // 2 + latency_frames * hop - 1
    if r == 1:
        return d2
    d1 = resampler_lag(sample_rate, analysis_rate, 1, MEASURE_SECONDS, input_quality)
    d3 = resampler_lag(analysis_rate, sample_rate, hop, 10 * MEASURE_SECONDS)
    return math.floor((d1 + d2) / r + d3)


class _Fifo:
    """A queue of ``(channels, n)`` samples, filled and drained in any sizes."""

    def __init__(self, channels: int, delay: int = 0) -> None:
        self.channels = channels
        self._chunks: deque[np.ndarray] = deque()
        self._offset = 0  # samples of the first chunk already taken
        self.size = 0
        self.push(np.zeros((channels, delay), np.float32))

    def push(self, x: np.ndarray) -> None:
        if x.shape[-1]:
            self._chunks.append(x)
            self.size += x.shape[-1]

    def pop(self, n: int) -> np.ndarray:
        if n > self.size:
            raise RuntimeError(f"the stream is {n - self.size} samples short of its latency")
        pieces, need = [], n
        while need:
            chunk = self._chunks[0]
            take = min(need, chunk.shape[-1] - self._offset)
            pieces.append(chunk[:, self._offset:self._offset + take])
            self._offset += take
            need -= take
            if self._offset == chunk.shape[-1]:
                self._chunks.popleft()
                self._offset = 0
        self.size -= n
        if not pieces:
            return np.zeros((self.channels, 0), np.float32)
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=-1)


class _Channel:
    """One channel's frames -> its styled audio at the analysis rate."""

    def __init__(self, trained: TrainedStyle, lookahead: int) -> None:
        s = trained.settings
        self.transfer = TransferStream(trained.model)
        self.phase = StreamingPhase(s.n_fft, s.hop_length, lookahead, ITERATIONS, MOMENTUM)

    def push(self, spectrum: torch.Tensor) -> torch.Tensor:
        """The next complex frame ``(bins, 1)`` -> the hop it finishes ``(hop,)``, or
        ``(0,)`` while RTISI-LA's look-ahead fills."""
        styled = self.transfer.push(torch.log1p(spectrum.abs()))
        return self.phase.push_frames(magnitude_from_log(styled), spectrum.angle())

    def copy(self) -> _Channel:
        # the model is read-only: the copies share it
        return copy.deepcopy(self, {id(self.transfer.model): self.transfer.model})


def input_quality_for(trained: TrainedStyle, sample_rate: float, full_band: bool = True) -> str:
    """soxr's quality on the input's way to the analysis rate: :data:`QUALITY`, or
    :data:`INPUT_FALLBACK_QUALITY` where :data:`QUALITY`'s delay keeps the latency over
    :data:`MAX_LATENCY_SECONDS` even without look-ahead (below 12 kHz)."""
    fits = _latency(trained, sample_rate, 0, full_band, QUALITY) \
        <= MAX_LATENCY_SECONDS * sample_rate
    return QUALITY if fits else INPUT_FALLBACK_QUALITY


def lookahead_for(trained: TrainedStyle, sample_rate: float, full_band: bool = True) -> int:
    """RTISI-LA's look-ahead for a stream of ``trained`` at ``sample_rate``: :data:`LOOKAHEAD`
    frames, or the most that keeps the latency within :data:`MAX_LATENCY_SECONDS` (each frame
    costs one hop, 23 ms at 22050 Hz; soxr's delay and the top octave's differ by rate)."""
    quality = input_quality_for(trained, sample_rate, full_band)
    for lookahead in range(LOOKAHEAD, 0, -1):
        if _latency(trained, sample_rate, lookahead, full_band, quality) \
                <= MAX_LATENCY_SECONDS * sample_rate:
            return lookahead
    return 0


def latency_for(trained: TrainedStyle, sample_rate: float, lookahead: int | None = None,
                full_band: bool = True) -> int:
    """The fixed latency of a :class:`TrainedStream` of ``trained`` at ``sample_rate`` (with
    RTISI-LA's ``lookahead``, by default :func:`lookahead_for`'s, the input resampler of
    :func:`input_quality_for` and the top octave's delay where ``full_band`` adds one)."""
    if lookahead is None:
        lookahead = lookahead_for(trained, sample_rate, full_band)
    return _latency(trained, sample_rate, lookahead, full_band,
                    input_quality_for(trained, sample_rate, full_band))


def _latency(trained: TrainedStyle, sample_rate: float, lookahead: int, full_band: bool,
             input_quality: str) -> int:
    s = trained.settings
    frames = StreamingPhase(s.n_fft, s.hop_length, lookahead, ITERATIONS,
                            MOMENTUM).latency_frames
    top = top_octave_latency(trained.top_octave, sample_rate, s.sample_rate) if full_band else 0
    return top + stream_latency(float(sample_rate), float(s.sample_rate), s.n_fft,
                                s.hop_length, frames, input_quality)


class TrainedStream:
    """Style transfer with a trained style, block by block, at a fixed latency.

    ``process(block (channels, n)) -> (channels, n)`` float32, any ``n >= 0``. Output sample
    ``i`` is the pipeline's result for input sample ``i - latency_samples`` (zeros before the
    start), whatever the block sizes: cutting the input differently gives the same output.
    ``latency_samples`` (at ``sample_rate``) is fixed for the stream's life:
    :func:`stream_latency` with the look-ahead of :func:`lookahead_for` and the input resampler
    of :func:`input_quality_for`, plus the top octave's
    (:func:`~neuralfx.trained.top_octave_stream.top_octave_latency`): at most 250 ms from 8 to
    192 kHz (246.6 ms at 44.1 kHz, 240.7 ms at 48 kHz, 237.2 ms at 16 kHz, 235.0 ms at 96 kHz,
    look-ahead 2 or 1 where the top octave is rebuilt; 244.6 ms at 11.025 kHz and 245.2 ms at
    8 kHz, where the input takes soxr's 'LQ': 'HQ' alone delays 168-196 ms there).

    The pipeline (module docstring) runs once per distinct channel: while every channel has
    been identical, one channel is computed and copied. With ``full_band``, the top octave
    above the analysis band (11 kHz) is rebuilt as offline, from running means
    (:class:`~neuralfx.trained.top_octave_stream.TopOctaveStream`).

    Level (``match_loudness``): the wet signal follows the input's level with one gain for all
    channels (the image stays put): the square root of the input's over the wet signal's
    energy, both K-weighted (BS.1770's filter, as the offline render's loudness match: plain
    energy left a stream in a bass-heavy style 1.4-2.9 dB quieter than the input) at the
    analysis rate in an exponential window, updated once per hop and ramped linearly across
    it (no zipper noise), starting at 1 and at most +24 dB. The window
    is half the stream's age, from 0.5 s up to :data:`LEVEL_SECONDS` (10 s): the stream's
    first second leans on the corpus's statistics and comes out quieter (10 dB on a test
    signal), which a fixed 10 s window would remember as a gain 2-3 dB too high for seconds.

    Then ``mix``: ``mix * wet + (1 - mix) * dry``, the dry input delayed by the same latency.
    Then a safety limiter: samples beyond ``PEAK_CEILING`` are scaled down by one gain for all
    channels, with instant attack, that recovers exponentially (:data:`RELEASE_SECONDS`).

    The state does not grow with the stream: the transform's 7.5 s of frames, RTISI-LA's few
    frames, and queues of about ``latency_samples`` (plus the block being processed).
    """

    def __init__(self, trained: TrainedStyle, sample_rate: float, channels: int, *,
                 mix: float = 1.0, match_loudness: bool = True, full_band: bool = True) -> None:
        if trained.is_texture:
            raise ValueError(f"a {trained.kind!r} style has no input to stream: only style "
                             "transfer (kind 'transfer') runs block by block")
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) \
                or channels < 1:
            raise ValueError(f"channels = {channels!r}: expected an integer >= 1")
        if isinstance(mix, bool) or not isinstance(mix, (int, float, np.number)) \
                or not 0.0 <= mix <= 1.0:
            raise ValueError(f"mix = {mix!r}: expected a number from 0 to 1")
        self.trained = trained
        self.sample_rate = check_sample_rate(sample_rate)
        self.channels = int(channels)
        self.mix = float(mix)
        self.match_loudness = bool(match_loudness)
        self.full_band = bool(full_band)
        s = trained.settings
        self.analysis_rate = float(s.sample_rate)
        self._n_fft, self._hop = s.n_fft, s.hop_length
        self._resampled = self.sample_rate != self.analysis_rate
        self.input_quality = input_quality_for(trained, self.sample_rate, self.full_band)
        self.lookahead = lookahead_for(trained, self.sample_rate, self.full_band)
        self.latency_samples = latency_for(trained, self.sample_rate, self.lookahead,
                                           self.full_band)
        self._top = TopOctaveStream(trained.top_octave, self.sample_rate, self.analysis_rate,
                                    self.channels) if self.full_band else None
        self._release = 1.0 / (RELEASE_SECONDS * self.sample_rate)  # log-gain per sample
        self._k_weighting = k_weighting(self.analysis_rate)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next block starts a new one with the same settings."""
        c = self.channels
        self._to_analysis = _resampler(self.sample_rate, self.analysis_rate, c,
                                       self.input_quality) if self._resampled else None
        self._to_output = _resampler(self.analysis_rate, self.sample_rate, c) \
            if self._resampled else None
        # analysis samples from the next frame's first on; before sample 0, the zero padding
        self._pending = np.zeros((c, self._n_fft // 2), np.float32)
        # one chain while the channels are identical
        self._chains = [_Channel(self.trained, self.lookahead)]
        self._level_input = _Fifo(c)  # analysis-rate input awaiting its wet hop
        self._energy = [0.0, 0.0]  # input's, wet's: K-weighted, exponentially windowed
        self._k_state = [np.zeros((len(self._k_weighting), c, 2)) for _ in range(2)]
        self._level_hops = 0
        self._gain = 1.0
        # the top octave delays the wet by its own latency: the rest is queued here
        self._wet = _Fifo(c, self.latency_samples - self._top_latency())
        self._dry = _Fifo(c, self.latency_samples)
        if self._top is not None:
            self._top.reset()
        self._log_peak = -math.inf  # the limiter's envelope

    def _top_latency(self) -> int:
        return 0 if self._top is None else self._top.latency_samples

    # --- the stages ----------------------------------------------------------------------------

    def _check(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"block must be (channels, samples) with {self.channels} "
                             f"channel(s), got shape {x.shape}")
        x = np.array(x, dtype=np.float32)  # a copy: the caller may reuse its buffer
        if not np.isfinite(x).all():
            raise ValueError("block has NaN or infinite samples: expected finite audio")
        return x

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        """The next frame's samples ``(channels, n_fft)`` -> the hop it finishes ``(channels,
        hop)``, if any (else ``(channels, 0)``). One frame at a time: each frame's arithmetic
        is then the same however the input was cut."""
        if len(self._chains) == 1 and self.channels > 1 \
                and not all(np.array_equal(frame[0], row) for row in frame[1:]):
            # the channels part here: each goes on from the shared state
            self._chains += [self._chains[0].copy() for _ in range(self.channels - 1)]
        rows = torch.from_numpy(np.ascontiguousarray(frame[:len(self._chains)]))
        spectra = stft_frames(rows, self._n_fft, self._hop)  # (rows, bins, 1)
        wet = torch.stack([chain.push(spectrum) for chain, spectrum in
                           zip(self._chains, spectra)]).numpy()
        return np.broadcast_to(wet, (self.channels, wet.shape[-1]))

    def _style(self, samples: np.ndarray) -> np.ndarray:
        """Analysis-rate input ``(channels, n)`` -> the wet hops it finishes ``(channels,
        k * hop)``, levelled."""
        self._level_input.push(samples)
        self._pending = np.concatenate([self._pending, samples], axis=-1)
        hops = []
        while self._pending.shape[-1] >= self._n_fft:
            hops.append(self._frame(self._pending[:, :self._n_fft]))
            self._pending = self._pending[:, self._hop:]
        if not hops:
            return np.zeros((self.channels, 0), np.float32)
        wet = np.concatenate(hops, axis=-1)
        return self._level(wet, self._level_input.pop(wet.shape[-1]))

    def _level(self, wet: np.ndarray, dry: np.ndarray) -> np.ndarray:
        """Wet hops ``(channels, k * hop)`` at the level of the input over the same samples:
        one gain per hop, ramped across it."""
        if not self.match_loudness or wet.shape[-1] == 0:
            return np.ascontiguousarray(wet, dtype=np.float32)
        hop = self._hop
        weighted = []
        for i, x in enumerate((dry, wet)):
            y, self._k_state[i] = sosfilt(self._k_weighting, x.astype(np.float64), axis=-1,
                                          zi=self._k_state[i])
            weighted.append(y)
        gains = np.empty(wet.shape[-1])
        ramp = np.arange(1, hop + 1) / hop
        for j in range(wet.shape[-1] // hop):
            span = slice(j * hop, (j + 1) * hop)
            self._level_hops += 1
            age = self._level_hops * hop / self.analysis_rate
            window = min(LEVEL_SECONDS, max(LEVEL_FIRST_SECONDS, LEVEL_AGE_SHARE * age))
            decay = math.exp(-hop / (window * self.analysis_rate))
            for i, x in enumerate(weighted):
                self._energy[i] = decay * self._energy[i] + float(np.sum(x[:, span] ** 2))
            source, styled = self._energy
            target = min(math.sqrt(source / styled), MAX_GAIN) if styled > 0 else self._gain
            gains[span] = self._gain + (target - self._gain) * ramp
            self._gain = target
        return (wet * gains).astype(np.float32)

    def _limit(self, y: np.ndarray) -> np.ndarray:
        """``y (channels, n)`` under :data:`CEILING`: one gain for all channels, the ceiling
        over an envelope that follows peaks at once and falls by :data:`RELEASE_SECONDS`'s
        time constant (in the log domain: a running maximum of decayed log-peaks)."""
        n = y.shape[-1]
        with np.errstate(divide="ignore"):
            log_peak = np.log(np.abs(y).max(axis=0).astype(np.float64))
        t = np.arange(n) * self._release
        envelope = np.maximum(np.maximum.accumulate(log_peak + t) - t,
                              self._log_peak - t - self._release)
        self._log_peak = float(envelope[-1])
        gain = np.exp(np.minimum(math.log(CEILING) - envelope, 0.0))
        return np.clip(y * gain, -CEILING, CEILING).astype(np.float32)

    # --- the stream ----------------------------------------------------------------------------

    def process(self, block: np.ndarray) -> np.ndarray:
        """The next block ``(channels, n)`` -> the next ``n`` samples of output ``(channels,
        n)`` float32 (any ``n >= 0``). NaN or infinite input raises ValueError."""
        x = self._check(block)
        n = x.shape[-1]
        if n == 0:
            return np.zeros((self.channels, 0), np.float32)
        if self._resampled:  # soxr takes and gives (samples, channels)
            x_t = np.ascontiguousarray(x.T)
            analysis = np.ascontiguousarray(self._to_analysis.resample_chunk(x_t).T)
        else:
            analysis = x
        wet = self._style(analysis)
        hop = self._hop
        for j in range(0, wet.shape[-1], hop):
            # one hop per call: the output resampler then sees the same pushes however the
            # input was cut
            piece = wet[:, j:j + hop]
            if self._resampled:
                piece = self._to_output.resample_chunk(np.ascontiguousarray(piece.T)).T
            self._wet.push(np.ascontiguousarray(piece))
        self._dry.push(x)
        wet_out, dry_out = self._wet.pop(n), self._dry.pop(n)
        if self._top is not None:
            wet_out = self._top.process(wet_out)
        if self.mix == 1.0:
            y = wet_out
        elif self.mix == 0.0:
            y = dry_out
        else:
            y = self.mix * wet_out + (1.0 - self.mix) * dry_out
        return self._limit(y)
