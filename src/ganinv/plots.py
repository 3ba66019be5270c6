"""Figures (PNG): reconstruction grids, PSNR curves and training curves, written atomically."""

from __future__ import annotations

import os

import numpy as np

from ganinv.atomic import atomic_path
from ganinv.data.h5io import read_h5

# matplotlib and pandas are imported by the functions that use them: a job pays for what it draws.


def plot_gan_training(
    loss_csv: str | os.PathLike,
    quality_csv: str | os.PathLike,
    out_png: str | os.PathLike,
    name: str = "ProGAN",
    loss_label: str = "WGAN-GP loss",
) -> None:
    """Two panels: discriminator/generator losses, and the sliced Wasserstein distance.

    With a ``stage`` column (progressive growing) the stage boundaries are drawn dotted.
    """
    import pandas as pd  # ~0.3 s: only the curve figures read CSVs

    plt = pyplot()

    losses = pd.read_csv(loss_csv)
    quality = pd.read_csv(quality_csv)
    fig, (ax_loss, ax_swd) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for column, label in (("d_loss", "discriminator"), ("g_loss", "generator")):
        ax_loss.plot(losses["step"], losses[column], label=label, linewidth=0.8)
    title = f"{name} losses"
    if "stage" in losses.columns:
        # Training logs the last step of every stage, so these are the exact stage boundaries.
        stage_ends = losses.groupby("stage")["step"].max().sort_index().to_numpy()[:-1]
        for axis in (ax_loss, ax_swd):
            for end in stage_ends:
                axis.axvline(end, color="grey", linewidth=0.5, linestyle=":")
        title += " (dotted: new resolution stage)"
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel(loss_label)
    ax_loss.set_title(title)
    ax_loss.legend()
    ax_swd.plot(quality["step"], quality["swd_mean"], marker="o")
    ax_swd.set_xlabel("step")
    ax_swd.set_ylabel("SWD x 1e3 (mean over pyramid levels)")
    ax_swd.set_title("Sliced Wasserstein distance to real faces (lower is better)")
    save_figure(fig, out_png)


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (no display on clusters)."""
    # ~0.6 s: only the jobs that draw pay it, and the backend is set before pyplot loads
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out_png: str | os.PathLike, dpi: int = 110) -> None:
    plt = pyplot()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)


def plot_reconstruction_grid(
    targets_h5: str | os.PathLike,
    inversions: dict[str, str | os.PathLike],
    out_png: str | os.PathLike,
    n_faces: int = 8,
    title: str = "Reconstructions of generated test faces (PSNR per face)",
) -> None:
    """Rows: target, then each method's reconstruction (with its PSNR) for the first faces."""
    plt = pyplot()
    targets = read_h5(targets_h5, ["images"])[0]["images"][:n_faces]
    rows = {"target": targets}
    for method, path in inversions.items():
        rows[method] = read_h5(path, ["reconstructions"])[0]["reconstructions"][:n_faces]
    n = len(targets)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n, 1.45 * len(rows)), squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(n):
            axis = axes[r][c]
            axis.imshow(images[c].transpose(1, 2, 0), interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if name != "target":
                diff = (images[c].astype(float) - targets[c].astype(float)) / 255.0
                value = -10 * np.log10(max(float((diff**2).mean()), 1e-12))
                axis.set_title(f"{value:.1f} dB", fontsize=7)
            if c == 0:
                axis.set_ylabel(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, out_png)


def plot_psnr_iterations(
    inversions: dict[str, str | os.PathLike],
    timing_csv: str | os.PathLike,
    out_png: str | os.PathLike,
) -> None:
    """Mean PSNR (band: interquartile range) against iterations and against time.

    The time axis uses the timing rule's measurements (``timing_csv``, see :mod:`ganinv.timing`):
    iteration ``i`` of GD or the hybrid is reached at ``seconds_fixed + i x seconds_per_iteration``
    (the hybrid's fixed part includes the encoder's pass, so its curve starts after it), and the
    encoder is a point at its total time. A run short enough to be timed whole is spread evenly.
    """
    import pandas as pd  # ~0.3 s: only the curve figures read CSVs

    timing = pd.read_csv(timing_csv).set_index("method")
    plt = pyplot()
    fig, (ax_it, ax_time) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for method, path in inversions.items():
        curve = read_h5(path, ["psnr_curve"])[0]["psnr_curve"].astype(float)
        times = timing.loc[method]
        mean = np.nanmean(curve, axis=1)
        low, high = np.nanpercentile(curve, [25, 75], axis=1)
        iterations = np.arange(len(curve))
        color = f"C{list(inversions).index(method)}"  # one colour per method in both panels
        if len(curve) == 1:
            ax_it.scatter([0], mean, label=method, zorder=3, marker="D", color=color)
            ax_time.scatter([times["seconds_total"]], mean, label=method, zorder=3, marker="D",
                            color=color)  # fmt: skip
            continue
        ax_it.plot(iterations, mean, label=method, color=color)
        ax_it.fill_between(iterations, low, high, alpha=0.2, color=color)
        if np.isfinite(times["seconds_per_iteration"]):
            seconds = times["seconds_fixed"] + iterations * times["seconds_per_iteration"]
        else:  # a run short enough to be timed whole: its iterations spread evenly
            seconds = np.linspace(1, len(curve), len(curve)) * times["seconds_total"] / len(curve)
        ax_time.plot(seconds, mean, label=method, color=color)
    ax_it.set_xlabel("gradient-descent iteration (0 = starting point)")
    ax_it.set_ylabel("PSNR (dB), mean over test faces")
    ax_it.set_title("PSNR vs iterations (band: interquartile range)")
    first = timing.iloc[0]
    ax_time.set_xlabel(
        f"wall time for all {int(first['n_targets'])} targets (s, timed alone on {first['device']})"
    )
    ax_time.set_ylabel("PSNR (dB), mean over test faces")
    ax_time.set_xscale("log")
    ax_time.set_title("PSNR vs time: the quality/time trade-off")
    for axis in (ax_it, ax_time):
        axis.legend()
        axis.grid(alpha=0.3)
    save_figure(fig, out_png)


def plot_encoder_training(curves: dict[str, str | os.PathLike], out_png: str | os.PathLike) -> None:
    """Training loss and validation PSNR of each encoder variant."""
    import pandas as pd  # ~0.3 s: only the curve figures read CSVs

    plt = pyplot()
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for variant, path in curves.items():
        frame = pd.read_csv(path)
        smooth = frame["loss"].rolling(5, min_periods=1).mean()
        ax_loss.plot(frame["step"], smooth, label=variant)
        valid = frame.dropna(subset=["val_psnr_db"])
        ax_psnr.plot(valid["step"], valid["val_psnr_db"], marker="o", label=variant)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss (rolling mean of 5 logged rows)")
    ax_loss.set_yscale("log")
    ax_psnr.set_xlabel("step")
    ax_psnr.set_ylabel("validation PSNR of G(E(x)) (dB)")
    for axis in (ax_loss, ax_psnr):
        axis.legend()
        axis.grid(alpha=0.3)
    fig.suptitle("Encoder training (variants of the ablation)")
    save_figure(fig, out_png)
