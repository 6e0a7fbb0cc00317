"""Phase reconstruction on a stream (RTISI-LA): the stream gives the offline function's samples,
its latency is the documented one, and it reconstructs nearly as well as offline Griffin-Lim."""

from __future__ import annotations

import math

import pytest
import torch

from neuralfx.spectral import bin_frequency_phase, griffin_lim, istft, spectral_convergence, stft
from neuralfx.trained.phase import StreamingPhase, rtisi_la

SR = 22050
N_FFT, HOP = 2048, 512


def harmonic_with_bursts(seconds: float = 2.5) -> torch.Tensor:
    """A tremolo tone of 7 harmonics with three decaying noise bursts, ``(samples,)``."""
    n = int(seconds * SR)
    t = torch.arange(n) / SR
    tone = sum(0.3 / h * torch.sin(2 * math.pi * 220 * h * t + h) for h in range(1, 8))
    tone = tone * (0.6 + 0.4 * torch.sin(2 * math.pi * 1.5 * t))
    noise = torch.randn(n, generator=torch.Generator().manual_seed(1)) * 0.2
    envelope = torch.zeros(n)
    for start in (0.4, 1.1, 1.9):
        i = int(start * SR)
        envelope[i:i + 2000] = torch.exp(-torch.arange(2000) / 400.0)
    return tone + noise * envelope


@pytest.fixture(scope="module")
def signal():
    audio = harmonic_with_bursts()
    spec = stft(audio, N_FFT, HOP)
    return audio, spec.abs(), spec.angle()


def short_spectrogram(frames: int = 23, n_fft: int = N_FFT, hop: int = HOP):
    audio = torch.randn((frames - 1) * hop, generator=torch.Generator().manual_seed(2))
    spec = stft(audio, n_fft, hop)
    return audio, spec.abs(), spec.angle()


@pytest.mark.parametrize("lookahead,iterations,momentum", [(0, 2, 0.0), (3, 4, 0.0), (2, 3, 0.5)])
def test_streaming_gives_the_offline_samples_for_any_push_pattern(lookahead, iterations,
                                                                 momentum):
    audio, magnitude, phase = short_spectrogram()
    n, frames = audio.shape[0], magnitude.shape[1]
    settings = dict(lookahead=lookahead, iterations=iterations, momentum=momentum)
    for hint in (phase, None):
        offline = rtisi_la(magnitude, N_FFT, HOP, n, phase_hint=hint, **settings)
        # one frame at a time, reading each hop as it comes
        stream = StreamingPhase(N_FFT, HOP, **settings)
        pieces = [stream.push(magnitude[:, t], None if hint is None else hint[:, t])
                  for t in range(frames)]
        first = next(i for i, p in enumerate(pieces) if p is not None)
        assert first == stream.latency_frames
        assert all(p is not None and p.shape == (HOP,) for p in pieces[first:])
        streamed = torch.cat([*pieces[first:], stream.flush()])
        assert torch.allclose(streamed[:n], offline, atol=1e-5)
        # the same object again after its flush (a new stream), in uneven runs of frames
        cuts = [0, 1, 2, 7, 8, 15, frames]
        runs = [stream.push_frames(magnitude[:, a:b], None if hint is None else hint[:, a:b])
                for a, b in zip(cuts, cuts[1:])]
        assert torch.allclose(torch.cat([*runs, stream.flush()])[:n], offline, atol=1e-5)
    # frames with and without a hint in one stream: pushed singly or in runs, the same
    without = range(5, 9)
    single = StreamingPhase(N_FFT, HOP, **settings)
    pieces = [single.push(magnitude[:, t], None if t in without else phase[:, t])
              for t in range(frames)]
    single_out = torch.cat([*(p for p in pieces if p is not None), single.flush()])
    runs = StreamingPhase(N_FFT, HOP, **settings)
    runs_out = torch.cat([runs.push_frames(magnitude[:, :5], phase[:, :5]),
                          runs.push_frames(magnitude[:, 5:9]),
                          runs.push_frames(magnitude[:, 9:], phase[:, 9:]), runs.flush()])
    assert torch.allclose(single_out, runs_out, atol=1e-5)
    assert not torch.allclose(single_out[:n], rtisi_la(magnitude, N_FFT, HOP, n,
                                                      phase_hint=phase, **settings), atol=1e-3)


def test_the_hint_as_is_is_istft_of_the_hinted_spectrum_at_any_overlap():
    for n_fft, hop in ((2048, 512), (1024, 128), (512, 256), (12, 4)):
        audio, magnitude, phase = short_spectrogram(17, n_fft, hop)
        n = audio.shape[0]
        for length in (n, n + n_fft // 2 - 1, n - hop + 1):  # up to the last frame's end
            got = rtisi_la(magnitude, n_fft, hop, length, lookahead=2, iterations=0,
                           phase_hint=phase)
            expected = istft(torch.polar(magnitude, phase), n_fft, hop, length)
            assert got.shape == (length,)
            assert torch.allclose(got, expected, atol=1e-5), (n_fft, hop, length)
        longer = rtisi_la(magnitude, n_fft, hop, n + n_fft, iterations=0, phase_hint=phase)
        assert torch.allclose(longer[:n], audio, atol=1e-5) and not longer[-n_fft // 2:].any()


def test_true_phase_with_no_iterations_gives_the_signal_back(signal):
    audio, magnitude, phase = signal
    out = rtisi_la(magnitude, N_FFT, HOP, audio.shape[0], iterations=0, phase_hint=phase)
    assert (out - audio).abs().max() < 1e-5


@pytest.mark.parametrize("n_fft,hop,lookahead", [(2048, 512, 3), (2048, 512, 0), (1024, 256, 5),
                                                  (1024, 128, 1), (12, 6, 2)])
def test_latency_is_the_documented_one(n_fft, hop, lookahead):
    """An impulse in a hop-by-hop stream (each frame pushed once its last input sample is in)
    comes out exactly ``latency_samples`` later."""
    half = n_fft // 2
    overlap = math.ceil(half / hop)
    stream = StreamingPhase(n_fft, hop, lookahead=lookahead, iterations=2)
    assert stream.latency_frames == lookahead + overlap
    assert stream.latency_samples == (lookahead + 2 * overlap - 1) * hop
    hops = 40
    impulse_at = 11 * hop + 3
    signal_in = torch.zeros(hops * hop)
    signal_in[impulse_at] = 1.0
    spec = stft(signal_in, n_fft, hop)
    played = []
    for i in range(hops):  # input hop i has arrived: samples < (i + 1) * hop
        frame = i + 1 - overlap  # the newest centred frame whose samples are all in
        piece = None
        if 0 <= frame < spec.shape[1]:
            piece = stream.push(spec[:, frame].abs(), spec[:, frame].angle())
        played.append(torch.zeros(hop) if piece is None else piece)
    played = torch.cat(played)
    assert int(played.abs().argmax()) == impulse_at + stream.latency_samples


def test_latency_of_the_product_setting_at_22050_hz():
    stream = StreamingPhase(2048, 512, lookahead=3)
    assert stream.latency_samples == 2048 + 2 * 512  # n_fft + (lookahead - 1) * hop
    assert StreamingPhase(2048, 512, lookahead=7).latency_samples / SR < 0.250
    assert StreamingPhase(2048, 512, lookahead=8).latency_samples / SR > 0.250


def test_reconstruction_is_close_to_offline_fast_griffin_lim(signal):
    audio, magnitude, _ = signal
    n = audio.shape[0]
    start = bin_frequency_phase(magnitude.shape[0], magnitude.shape[1], HOP, N_FFT)
    offline, _ = griffin_lim(magnitude[None], N_FFT, HOP, n, 32, 0.99, phase=start)
    zero_phase = istft(magnitude.to(torch.complex64), N_FFT, HOP, n)
    sc_offline = float(spectral_convergence(offline[0], magnitude, N_FFT, HOP))
    sc_zero = float(spectral_convergence(zero_phase, magnitude, N_FFT, HOP))

    def sc_streamed(lookahead, iterations, momentum):
        out = rtisi_la(magnitude, N_FFT, HOP, n, lookahead=lookahead, iterations=iterations,
                       momentum=momentum)
        return float(spectral_convergence(out, magnitude, N_FFT, HOP))

    # measured: offline 0.115, zero phase 0.841; streamed 3/4 0.060 (momentum 0.5, the
    # default), 0.218 (plain); 5/8 0.034
    default = sc_streamed(3, 4, 0.5)
    assert default < 1.25 * sc_offline
    assert sc_streamed(3, 4, 0.0) < 2.5 * sc_offline
    assert default < 0.35 * sc_zero
    assert sc_streamed(5, 8, 0.5) < default  # more look-ahead and passes converge further


def test_state_does_not_grow_with_the_stream():
    stream = StreamingPhase(N_FFT, HOP, lookahead=3, iterations=1)
    frame = torch.rand(N_FFT // 2 + 1)
    sizes = set()
    for t in range(200):
        stream.push(frame)
        if t > 10:
            sizes.add((stream._num.numel(), len(stream._open)))
    assert sizes == {(stream._num.numel(), 3)}


@pytest.mark.parametrize("kwargs,words", [
    (dict(n_fft=2048, hop_length=500), ["hop_length 500", "n_fft 2048"]),
    (dict(n_fft=2048, hop_length=0), ["hop_length", "0"]),
    (dict(n_fft=2048, hop_length=512, lookahead=-1), ["lookahead", "-1"]),
    (dict(n_fft=2048, hop_length=512, iterations=-2), ["iterations", "-2"]),
    (dict(n_fft=2048, hop_length=512, momentum=1.5), ["momentum", "1.5"]),
])
def test_bad_settings_raise_naming_the_argument(kwargs, words):
    with pytest.raises(ValueError) as error:
        StreamingPhase(**kwargs)
    assert all(w in str(error.value) for w in words), str(error.value)
    magnitude = torch.ones(kwargs["n_fft"] // 2 + 1, 4)
    with pytest.raises(ValueError) as error:
        rtisi_la(magnitude, length=1024, **kwargs)
    assert all(w in str(error.value) for w in words), str(error.value)


def test_wrong_shapes_raise_naming_the_argument_and_shape():
    stream = StreamingPhase(N_FFT, HOP)
    with pytest.raises(ValueError, match=r"magnitude .*\(1025,\).*\(1024,\)"):
        stream.push(torch.ones(1024))
    with pytest.raises(ValueError, match=r"phase_hint .*\(1025,\).*\(1025, 2\)"):
        stream.push(torch.ones(1025), torch.zeros(1025, 2))
    with pytest.raises(ValueError, match=r"magnitude .*\(1025, frames\).*\(513, 10\)"):
        rtisi_la(torch.ones(513, 10), N_FFT, HOP, 4096)
    with pytest.raises(ValueError, match=r"magnitude .*\(1025, frames\).*\(1025,\)"):
        rtisi_la(torch.ones(1025), N_FFT, HOP, 4096)
    with pytest.raises(ValueError, match=r"phase_hint.*\(1025, 3\)"):
        rtisi_la(torch.ones(1025, 4), N_FFT, HOP, 4096, phase_hint=torch.zeros(1025, 3))
    with pytest.raises(ValueError, match="length must be an integer >= 0, got -1"):
        rtisi_la(torch.ones(1025, 4), N_FFT, HOP, -1)
