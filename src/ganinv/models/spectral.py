"""Time-frequency front ends of the audio networks: waveform ``[N, 1, T]`` -> ``[N, C, F, L]``.

Three representations (:data:`KINDS`), all differentiable so that gradient-descent inversion can
back-propagate through them to the waveform:

* ``"real"``: the real part of the STFT (Hann window, ``center=True`` with reflection padding),
  unscaled. This is what the thesis fed its spoken-digit classifier (frame 256, hop 128).
* ``"magnitude"``: ``log1p(|STFT|)``, a bounded compression of the magnitude that is 0 for
  silence, close to ``|STFT|`` for small values and logarithmic for loud ones. For audio in
  ``[-1, 1]`` the magnitude is at most ``n_fft / 2`` (the sum of the Hann window), so the value
  stays below ``log1p(n_fft / 2)`` (4.86 for 256).
* ``"logmel"``: mel power spectrogram (Slaney mel scale, so that no mel band of a short frame is
  empty) in dB with a floor of :data:`LOGMEL_FLOOR_DB`, mapped by
  ``(dB - LOGMEL_CENTER_DB) / LOGMEL_SCALE_DB`` to roughly ``[-1, 1]`` for speech in ``[-1, 1]``.

With ``T`` samples, ``n_fft`` and ``hop``, the STFT kinds give ``F = n_fft // 2 + 1`` rows and
``L = T // hop + 1`` frames (16384 samples, 256, 128: 129 x 129); ``logmel`` gives ``n_mels`` rows.
The single map is repeated ``channels`` times (the thesis stacked the real part to 3 channels so
that an image ResNet could read it).
"""

from __future__ import annotations

import torch
import torchaudio.transforms as T
from torch import nn

from ganinv.runtime import UserError, check_int

KINDS = ("real", "magnitude", "logmel")
LOGMEL_FLOOR_DB = -80.0  # power floor, dB (re 1.0): silence reads -80 dB
LOGMEL_CENTER_DB = -20.0
LOGMEL_SCALE_DB = 40.0


def check_waveform(wave: torch.Tensor, name: str = "waveform") -> None:
    """Raise ``ValueError`` unless ``wave`` is a floating-point ``[N, 1, T]`` tensor."""
    if wave.ndim != 3 or wave.shape[1] != 1:
        raise ValueError(f"{name} must have shape [N, 1, T], got {tuple(wave.shape)}")
    if not wave.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {wave.dtype}")


class Spectral(nn.Module):
    """Waveform ``[N, 1, T]`` -> ``[N, channels, F, frames]`` (see the module docstring)."""

    def __init__(
        self,
        kind: str = "real",
        n_fft: int = 256,
        hop: int = 128,
        n_mels: int = 64,
        sample_rate: int = 16000,
        channels: int = 3,
    ):
        super().__init__()
        if kind not in KINDS:
            raise UserError(f"unknown spectral representation '{kind}' (use one of {KINDS})")
        for name, value in (
            ("n_fft", n_fft),
            ("hop", hop),
            ("n_mels", n_mels),
            ("sample_rate", sample_rate),
            ("channels", channels),
        ):
            check_int(f"spectral {name}", value)
        if n_fft < 2 or hop > n_fft:
            raise UserError(f"spectral n_fft must be >= 2 and hop <= n_fft, got {n_fft}, {hop}")
        self.kind = kind
        self.n_fft = n_fft
        self.hop = hop
        self.channels = channels
        if kind == "logmel":
            self.transform: nn.Module = T.MelSpectrogram(
                sample_rate=sample_rate,
                n_fft=n_fft,
                hop_length=hop,
                n_mels=n_mels,
                power=2.0,
                mel_scale="slaney",
            )
            self.rows = n_mels
        else:
            self.transform = T.Spectrogram(
                n_fft=n_fft, hop_length=hop, power=None, window_fn=torch.hann_window
            )
            self.rows = n_fft // 2 + 1

    def frames(self, samples: int) -> int:
        """Number of STFT frames for a clip of ``samples`` samples."""
        return samples // self.hop + 1

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """The representation, ``[N, channels, rows, frames]``, differentiable in ``wave``."""
        check_waveform(wave)
        if wave.shape[-1] <= self.n_fft // 2:
            raise ValueError(
                f"clips of {wave.shape[-1]} samples are too short for an STFT of {self.n_fft}"
            )
        spec = self.transform(wave)  # [N, 1, rows, frames]
        if self.kind == "real":
            out = spec.real
        elif self.kind == "magnitude":
            out = torch.log1p(spec.abs())
        else:
            db = 10.0 * torch.log10(spec.clamp_min(10.0 ** (LOGMEL_FLOOR_DB / 10.0)))
            out = (db - LOGMEL_CENTER_DB) / LOGMEL_SCALE_DB
        return out.repeat(1, self.channels, 1, 1)
