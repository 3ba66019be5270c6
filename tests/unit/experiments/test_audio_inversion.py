"""Audio inversion: the chapter-3 loss, GD (Adam and L-BFGS) recovering a known z, the experiment
functions (inversion, metrics, tables, figures, listening files) on tiny model files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile
import torch
from torch import nn

from ganinv.audio_figures import (
    plot_audio_reconstructions,
    plot_waveform_figure,
    write_listening_files,
)
from ganinv.data.h5io import read_attrs, read_h5, write_h5
from ganinv.experiments.audio_inversion import make_audio_loss, run_audio_inversion
from ganinv.experiments.audio_metrics import compute_audio_metrics
from ganinv.experiments.audio_tables import write_table_3
from ganinv.invert import invert_gd
from ganinv.losses import stft_mae
from ganinv.models.digits import DigitClassifier
from ganinv.models.encoder import AudioEncoder
from ganinv.models.files import save_model
from ganinv.models.wavegan import Generator
from ganinv.runtime import UserError
from ganinv.sample import draw_latents
from tests.helpers.timing_csv import timing_csv

T = 16384


class TinyAudioGenerator(nn.Module):
    """z (6-d) -> a sum of 6 fixed sinusoids with amplitudes sigmoid(z): invertible, smooth.

    (Positive amplitudes: an STFT magnitude cannot tell a from -a, so signed amplitudes would
    give the loss a second minimum at the wrong sign.)"""

    z_dim = 6

    def __init__(self, samples: int = 2048):
        super().__init__()
        t = torch.arange(samples) / 16000.0
        freqs = torch.tensor([220.0, 440.0, 660.0, 1100.0, 1700.0, 2500.0])
        self.register_buffer("basis", torch.sin(2 * torch.pi * freqs[:, None] * t[None]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (torch.sigmoid(z) @ self.basis / 6.0)[:, None, :]


@pytest.mark.parametrize(
    ("optimizer", "lr", "iterations"), [("adam", 0.05, 300), ("lbfgs", 1.0, 30)]
)
def test_gd_recovers_known_z_on_tiny_audio_generator(one_thread, optimizer, lr, iterations):
    generator = TinyAudioGenerator()
    z_true = draw_latents(4, 6, "uniform", seed=3)
    targets = generator(z_true).detach()
    loss = make_audio_loss(None, {"perceptual": 0.0, "stft": 1.0, "waveform": 1.0})
    result = invert_gd(generator, targets, loss_fn=loss, iterations=iterations, lr=lr,
                       init="uniform", seed=1, optimizer=optimizer)  # fmt: skip
    assert result.loss_curve[-1].mean() < 0.02 * result.loss_curve[0].mean()
    assert (result.z - z_true).abs().max() < 0.05


def test_audio_loss_terms():
    x = torch.zeros(2, 1, 512)
    y = torch.full((2, 1, 512), 0.5)
    waveform_only = make_audio_loss(None, {"perceptual": 0, "stft": 0, "waveform": 2.0})
    assert torch.allclose(waveform_only(x, y), torch.full((2,), 1.0))
    both = make_audio_loss(None, {"perceptual": 0, "stft": 1.0, "waveform": 1.0})
    assert torch.allclose(both(x, y), 0.5 + stft_mae(x, y))
    with pytest.raises(UserError, match="every loss weight is 0"):
        make_audio_loss(None, {"perceptual": 0, "stft": 0, "waveform": 0})
    with pytest.raises(UserError, match="needs the digit classifier"):
        make_audio_loss(None, {"perceptual": 1, "stft": 0, "waveform": 0})
    with pytest.raises(UserError, match="unknown audio loss terms"):
        make_audio_loss(None, {"spectral": 1})


@pytest.fixture(scope="module")
def tiny_audio(tmp_path_factory):
    """Tiny WaveGAN, encoder and classifier files; generated and 'real' target sets."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("audio")
    torch.manual_seed(0)
    g_kwargs = {"z_dim": 8, "d": 2}
    save_model(root / "g.pt", Generator(**g_kwargs), "wavegan.Generator", g_kwargs)
    e_kwargs = {"z_dim": 8, "input_size": 32, "hidden": [16, 16]}
    save_model(root / "e.pt", AudioEncoder(**e_kwargs), "encoder.AudioEncoder", e_kwargs)
    c_kwargs = {"width": 4}
    save_model(root / "c.pt", DigitClassifier(**c_kwargs), "digits.DigitClassifier", c_kwargs)
    z = draw_latents(6, 8, "uniform", seed=5)
    with torch.no_grad():
        audio = Generator(**g_kwargs).eval()(z)  # another random generator: imperfect targets
    write_h5(root / "generated.h5", {"z": z.numpy(), "audio": audio.numpy()})
    rng = np.random.default_rng(0)
    real = rng.uniform(-0.9, 0.9, (6, 1, T)).astype(np.float32)
    write_h5(root / "real.h5", {"audio": real, "label": np.arange(6, dtype=np.int64)},
             {"sample_rate": 16000})  # fmt: skip
    for target_set, targets in (("generated", "generated.h5"), ("real", "real.h5")):
        for method, settings in (
            ("gd", {"iterations": 3, "lr": 0.05, "init": "uniform", "optimizer": "adam",
                    "stochastic_clipping": True}),
            ("encoder", {}),
            ("hybrid", {"iterations": 2, "lr": 0.05, "optimizer": "lbfgs",
                        "stochastic_clipping": False}),
        ):  # fmt: skip
            run_audio_inversion(
                method=method, generator_path=root / "g.pt", targets_path=root / targets,
                out_h5=root / f"{target_set}_{method}.h5", settings=settings,
                loss_weights={"perceptual": 1.0, "stft": 1.0, "waveform": 1.0}, chunk_size=4,
                seed=1, device=torch.device("cpu"), encoder_path=root / "e.pt",
                classifier_path=root / "c.pt",
            )  # fmt: skip
    return root


def test_inversion_outputs(tiny_audio):
    arrays, attrs = read_h5(tiny_audio / "generated_gd.h5")
    assert arrays["z"].shape == (6, 8) and arrays["reconstructions"].shape == (6, 1, T)
    assert arrays["reconstructions"].dtype == np.float32
    assert arrays["loss_curve"].shape == (4, 6) and arrays["mse_curve"].shape == (4, 6)
    assert np.abs(arrays["z"]).max() <= 1.0  # stochastic clipping keeps U[-1, 1]
    assert attrs["method"] == "gd" and attrs["seconds_per_clip"] > 0
    encoder, _ = read_h5(tiny_audio / "generated_encoder.h5")
    hybrid, _ = read_h5(tiny_audio / "generated_hybrid.h5")
    # the hybrid starts at the encoder's prediction and its loss does not get worse
    assert np.allclose(hybrid["loss_curve"][0], encoder["loss"], atol=1e-5)
    assert (hybrid["loss"] <= encoder["loss"] + 1e-6).all()


def test_inversion_errors(tiny_audio, tmp_path):
    common = {"generator_path": tiny_audio / "g.pt", "out_h5": tmp_path / "x.h5",
              "loss_weights": {"waveform": 1.0}, "chunk_size": 4, "seed": 0,
              "device": torch.device("cpu")}  # fmt: skip
    with pytest.raises(UserError, match="needs an encoder"):
        run_audio_inversion(method="hybrid", targets_path=tiny_audio / "real.h5",
                            settings={"iterations": 1, "lr": 0.1}, **common)  # fmt: skip
    with pytest.raises(UserError, match="method 'gd' has no setting 'perceptual'"):
        run_audio_inversion(method="gd", targets_path=tiny_audio / "real.h5",
                            settings={"iterations": 1, "lr": 0.1, "perceptual": 1},
                            **common)  # fmt: skip
    write_h5(tmp_path / "short.h5", {"audio": np.zeros((2, 1, 8000), np.float32)})
    with pytest.raises(UserError, match="8000 samples, the generator makes 16384"):
        run_audio_inversion(method="gd", targets_path=tmp_path / "short.h5",
                            settings={"iterations": 1, "lr": 0.1}, **common)  # fmt: skip
    assert not (tmp_path / "x.h5").exists()


def test_metrics_tables_figures_and_wavs(tiny_audio, tmp_path):
    for target_set in ("generated", "real"):
        summaries = {}
        for method in ("gd", "encoder", "hybrid"):
            summaries[method] = tmp_path / f"{target_set}_{method}.csv"
            summary = compute_audio_metrics(
                tiny_audio / f"{target_set}_{method}.h5", tiny_audio / f"{target_set}.h5",
                tiny_audio / "c.pt", tmp_path / f"{target_set}_{method}_per_clip.csv",
                summaries[method], method, target_set, is_splits=2,
                device=torch.device("cpu"),
            )  # fmt: skip
            assert 1.0 <= summary["inception_score"] <= 10.0
            assert 0.0 <= summary["digit_accuracy"] <= 1.0
            assert ("latent_mse" in summary) == (target_set == "generated")
        per_clip = pd.read_csv(tmp_path / f"{target_set}_gd_per_clip.csv")
        assert len(per_clip) == 6 and per_clip["waveform_mse"].ge(0).all()
        timing = timing_csv(tmp_path / "timing.csv", {"gd": 0.5, "encoder": 0.01, "hybrid": 0.1})
        judgement = tmp_path / "judgement.csv"
        pd.DataFrame([{"generator": "WaveGAN G", "evaluator": "classifier E",
                       "verdict": "collapsed: too few digits", "inception_score": 1.5,
                       "real_inception_score": 6.0, "digits_read": 3,
                       "diversity_ratio": 0.7}]).to_csv(judgement, index=False)  # fmt: skip
        table = write_table_3(summaries=summaries, target_set=target_set,
                              csv_path=tmp_path / "t.csv", md_path=tmp_path / "t.md",
                              tex_path=tmp_path / "t.tex", preset="test",
                              gd_settings={"iterations": 3, "optimizer": "adam"},
                              hybrid_settings={"iterations": 2}, timing_csv=timing,
                              judgement_csv=judgement)  # fmt: skip
        assert list(table["method"]) == ["gd", "encoder", "hybrid"]
        assert table["seconds_per_clip"].tolist() == [0.5, 0.01, 0.1]  # from the timing table
        assert table["cpu_seconds_per_clip"].tolist() == pytest.approx([0.4, 0.008, 0.08])
        markdown = (tmp_path / "t.md").read_text()
        assert "Preset: test" in markdown and "hybrid does not help audio" in markdown
        assert "50x faster per clip" in markdown and "timed alone" in markdown
        assert "Generator inverted: WaveGAN G; evaluator: classifier E" in markdown
        assert "collapsed: too few digits (Inception Score 1.50 vs 6.00" in markdown
        assert ("Finding (real digits)" in markdown) == (target_set == "real")
    inversions = {m: tiny_audio / f"real_{m}.h5" for m in ("gd", "encoder", "hybrid")}
    plot_audio_reconstructions(targets_h5=tiny_audio / "real.h5", inversions=inversions,
                               out_png=tmp_path / "f.png", title="t", n_clips=2)  # fmt: skip
    plot_waveform_figure(audio_h5=tiny_audio / "real.h5", out_png=tmp_path / "w.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
    assert (tmp_path / "w.png").stat().st_size > 10_000
    wavs = [tmp_path / f"{name}.wav" for name in ("targets", "gd", "encoder", "hybrid")]
    write_listening_files(targets_h5=tiny_audio / "real.h5", inversions=inversions, out_wavs=wavs,
                          n_clips=3)  # fmt: skip
    data, rate = soundfile.read(wavs[0])
    assert rate == 16000 and len(data) == 3 * T + 2 * 4000
    real = read_h5(tiny_audio / "real.h5", ["audio"])[0]["audio"]
    assert np.abs(data[:T] - real[0, 0]).max() <= 1 / 32768 + 1e-6
    assert read_attrs(tiny_audio / "real.h5")["sample_rate"] == 16000


def test_audio_encoder_training_alternates_phases(tiny_audio, tmp_path):
    from ganinv.models.files import load_model
    from ganinv.train.encoder import EncoderTraining, train_encoder

    z = draw_latents(12, 8, "uniform", seed=7)
    generator, _ = load_model(tiny_audio / "g.pt", "wavegan.Generator")
    with torch.no_grad():
        write_h5(tmp_path / "pairs.h5", {"z": z.numpy(), "audio": generator(z).numpy()})
    config = EncoderTraining(
        domain="audio", z_loss="mse", normalize_z=False, input_size=32, steps=4, batch_size=4,
        val_size=2, pixel_weight=0.0, perceptual_weight=1.0, real_phase=True, phase_period=1,
        eval_every=2, checkpoint_every=2, log_every=1,
    )  # fmt: skip
    summary = train_encoder(
        tiny_audio / "g.pt", tmp_path / "pairs.h5", tiny_audio / "real.h5",
        ("digits", str(tiny_audio / "c.pt")), tmp_path / "e.pt", tmp_path / "curve.csv",
        tmp_path / "work", config, torch.device("cpu"),
    )  # fmt: skip
    encoder, meta = load_model(tmp_path / "e.pt", "encoder.AudioEncoder")
    assert encoder.z_dim == 8 and meta["training"]["domain"] == "audio" and summary["steps"] == 4
    curve = pd.read_csv(tmp_path / "curve.csv")
    assert list(curve["phase"]) == ["generated", "real", "generated", "real"]
    real_rows = curve[curve["phase"] == "real"]
    assert (real_rows["z_loss"] == 0).all() and (real_rows["perceptual_loss"] > 0).all()
    with pytest.raises(UserError, match="audio must be float32"):
        write_h5(tmp_path / "ints.h5", {"z": z.numpy(), "audio": np.zeros((12, 1, T), np.int16)})
        train_encoder(tiny_audio / "g.pt", tmp_path / "ints.h5", None, None, tmp_path / "x.pt",
                      tmp_path / "x.csv", tmp_path / "w2",
                      EncoderTraining(domain="audio", real_phase=False, perceptual_weight=0.0,
                                      steps=1, batch_size=2, val_size=2),
                      torch.device("cpu"))  # fmt: skip
