"""Face-recognition networks: the perceptual loss of inversion and the evaluator of metrics.

Two kinds share one small API (``features``, ``embed``, ``embedding_dim``):

* :class:`FaceNet`, a small ResNet of torchvision ``BasicBlock`` s trained inside the workflow on
  the procedural faces (identity classification with a normalised-softmax head, plus regression of
  the standardised face attributes);
* :class:`PretrainedFaceNet`, facenet-pytorch's ``InceptionResnetV1`` with the VGGFace2 weights
  read from a local file (nothing is downloaded).

Images enter as float ``[N, 3, H, W]`` in ``[-1, 1]``; each network resizes them itself.
The feature-space MSE the thesis used with FaceNet is :func:`ganinv.losses.perceptual_distance`.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganinv.models.files import load_model
from ganinv.runtime import UserError
from ganinv.weights import default_weights_dir

VGGFACE2_FILE = "20180402-114759-vggface2.pt"
FACE_NETWORK_KINDS = ("in_dag", "vggface2")


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images [N, 3, H, W], got shape {tuple(x.shape)}")
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(
        x, size=(size, size), mode="bilinear", align_corners=False, antialias=False
    )


def _stage(inplanes: int, planes: int, stride: int) -> nn.Sequential:
    from torchvision.models.resnet import BasicBlock  # ~2 s to import: only when built

    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(planes),
        )
    return nn.Sequential(BasicBlock(inplanes, planes, stride=stride, downsample=downsample))


class FaceNet(nn.Module):
    """Small ResNet: stride-2 3×3 stem, four one-block stages (w, 2w, 4w, 8w; strides 1, 2, 2, 2).

    Inputs are resized to ``input_size``; the stages then run at 1/2, 1/4, 1/8 and 1/16 of it
    (32 px: 16, 8, 4, 2; 64 px: 32, 16, 8, 4). Global average pooling of the last stage feeds a
    linear embedding (L2-normalised by :meth:`embed`) whose cosine similarities to learned class
    centres, times :attr:`LOGIT_SCALE`, are the identity logits (normalised softmax, so that the
    embedding cosine is what the classifier was trained on). A separate linear attribute head reads
    the flattened (unpooled) last stage, which keeps the layout that pose and position attributes
    need, and predicts standardised attributes (``attribute_mean`` / ``attribute_std`` undo it).
    """

    LOGIT_SCALE = 16.0
    STRIDES = (1, 2, 2, 2)

    def __init__(
        self,
        n_identities: int,
        n_attributes: int,
        input_size: int = 64,
        width: int = 32,
        embedding_dim: int = 128,
    ):
        super().__init__()
        for name, value in (
            ("n_identities", n_identities),
            ("input_size", input_size),
            ("width", width),
            ("embedding_dim", embedding_dim),
        ):
            if int(value) < 1:
                raise UserError(f"FaceNet: {name} must be >= 1, got {value}")
        if int(n_attributes) < 0:
            raise UserError(f"FaceNet: n_attributes must be >= 0, got {n_attributes}")
        if int(input_size) < 16:
            raise UserError(f"FaceNet: input_size must be >= 16 px, got {input_size}")
        self.n_identities = int(n_identities)
        self.n_attributes = int(n_attributes)
        self.input_size = int(input_size)
        self.embedding_dim = int(embedding_dim)
        widths = [int(width) * 2**i for i in range(4)]
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        inplanes = widths[0]
        stages = []
        for planes, stride in zip(widths, self.STRIDES, strict=True):
            stages.append(_stage(inplanes, planes, stride))
            inplanes = planes
        self.stages = nn.ModuleList(stages)
        self.embedding = nn.Linear(widths[-1], self.embedding_dim)
        self.identity_head = nn.Parameter(torch.randn(self.n_identities, self.embedding_dim))
        side = self.input_size
        for stride in (2, *self.STRIDES):
            side = (side - 1) // stride + 1
        self.final_side = side
        self.attribute_head = nn.Linear(widths[-1] * side * side, self.n_attributes)
        self.register_buffer("attribute_mean", torch.zeros(self.n_attributes))
        self.register_buffer("attribute_std", torch.ones(self.n_attributes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def _trunk(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.stem(_resize(x, self.input_size))
        outputs = []
        for stage in self.stages:
            h = stage(h)
            outputs.append(h)
        return outputs

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The four stage outputs (the layers of the perceptual loss)."""
        return self._trunk(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised identity embedding ``[N, embedding_dim]``."""
        pooled = self._trunk(x)[-1].mean(dim=(2, 3))
        return F.normalize(self.embedding(pooled), dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(identity logits ``[N, n_identities]``, standardised attributes ``[N, n_attrs]``)."""
        last = self._trunk(x)[-1]
        embedding = F.normalize(self.embedding(last.mean(dim=(2, 3))), dim=1)
        logits = self.LOGIT_SCALE * embedding @ F.normalize(self.identity_head, dim=1).t()
        return logits, self.attribute_head(last.flatten(1))

    def predict_attributes(self, x: torch.Tensor) -> torch.Tensor:
        """Attribute predictions in the units of the data set."""
        standardised = self.attribute_head(self._trunk(x)[-1].flatten(1))
        return standardised * self.attribute_std + self.attribute_mean


class PretrainedFaceNet(nn.Module):
    """facenet-pytorch's InceptionResnetV1 with VGGFace2 weights from a local file.

    ``weights``: the file facenet-pytorch would cache (``$TORCH_HOME/checkpoints/
    20180402-114759-vggface2.pt``, a plain state dict including the 8631-class ``logits`` layer,
    which is dropped here); ``None`` means :func:`default_vggface2_path`.
    """

    FEATURE_LAYERS = ("conv2d_4b", "repeat_1", "mixed_6a", "repeat_2", "mixed_7a")
    INPUT_SIZE = 160
    embedding_dim = 512

    def __init__(self, weights: str | os.PathLike | None = None):
        super().__init__()
        # facenet-pytorch imports torchvision (~1.4 s): only the pretrained network pays it
        from facenet_pytorch.models.inception_resnet_v1 import InceptionResnetV1

        path = Path(weights) if weights is not None else default_vggface2_path()
        self.weights_path = str(path)
        self.net = InceptionResnetV1(pretrained=None, classify=False)
        state = _read_state_dict(path)
        state = {k: v for k, v in state.items() if not k.startswith("logits.")}
        own = self.net.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise UserError(
                f"{path} does not hold facenet-pytorch InceptionResnetV1 (vggface2) weights: "
                f"{len(missing)} missing keys {missing[:5]}, {len(unexpected)} unexpected keys "
                f"{unexpected[:5]}"
            )
        try:
            self.net.load_state_dict(state)
        except RuntimeError as exc:
            raise UserError(f"{path}: tensor shapes do not fit InceptionResnetV1: {exc}") from None
        self.eval()

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        # [-1, 1] -> pixels (x + 1) * 127.5 -> fixed_image_standardization (p - 127.5) / 128.
        return _resize(x, self.INPUT_SIZE) * (127.5 / 128.0)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after conv2d_4b, repeat_1, mixed_6a, repeat_2 and mixed_7a."""
        h = self._prepare(x)
        outputs = []
        wanted = set(self.FEATURE_LAYERS)
        for name in (
            "conv2d_1a",
            "conv2d_2a",
            "conv2d_2b",
            "maxpool_3a",
            "conv2d_3b",
            "conv2d_4a",
            *self.FEATURE_LAYERS,
        ):
            h = getattr(self.net, name)(h)
            if name in wanted:
                outputs.append(h)
        return outputs

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 512-d L2-normalised FaceNet embedding."""
        return self.net(self._prepare(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise UserError(
            f"VGGFace2 FaceNet weights not found: {path}. Place facenet-pytorch's "
            f"'{VGGFACE2_FILE}' (released with facenet-pytorch v2.2.9) at that path, or point "
            "TORCH_HOME (file in $TORCH_HOME/checkpoints/) or the config at it; it cannot be "
            "downloaded in this offline workflow. Or use the face network trained in the "
            "workflow (kind 'in_dag')."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(
            f"cannot read VGGFace2 weights {path}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''} (truncated or not a state dict)"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise UserError(f"{path} is not a state dict of tensors (facenet-pytorch layout expected)")
    return state


def default_vggface2_path() -> Path:
    """Where facenet-pytorch caches the VGGFace2 weights: ``$TORCH_HOME/checkpoints/...``."""
    return default_weights_dir() / "checkpoints" / VGGFACE2_FILE


def load_face_network(
    kind: str, path: str | os.PathLike | None, device: torch.device | str = "cpu"
) -> nn.Module:
    """A frozen face network in eval mode.

    ``kind`` "in_dag": ``path`` is a ganinv model file of a trained :class:`FaceNet`;
    "vggface2": ``path`` is the facenet-pytorch weights file (``None``: the default cache path).
    """
    if kind == "in_dag":
        if path is None:
            raise UserError("face network kind 'in_dag' needs the path of a trained FaceNet file")
        if not os.path.exists(path):
            raise UserError(
                f"face network model file not found: {path} (it is made by the workflow's "
                "FaceNet training rule; run that rule first, or give the right path)"
            )
        net, _meta = load_model(path, "facenet.FaceNet", device)
    elif kind == "vggface2":
        net = PretrainedFaceNet(path)
    else:
        raise UserError(f"unknown face network kind '{kind}' (use one of {FACE_NETWORK_KINDS})")
    net = net.to(device).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net
