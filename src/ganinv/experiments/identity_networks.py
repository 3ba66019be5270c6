"""Identity networks behind one interface: embeddings of uint8 face images, NaN where no face.

Kinds: ``in_dag`` (the evaluator FaceNet trained in the workflow), ``vggface2`` (facenet-pytorch's
pretrained InceptionResnetV1) and ``dlib`` (dlib's pretrained 128-d face-recognition ResNet,
:mod:`ganinv.models.dlib_face`). The torch networks embed every image; dlib embeds the faces its
detector finds and gives NaN rows for the others, which the metrics count instead of dropping.
A reconstruction is pixel-aligned with its target, so :meth:`IdentityNetwork.embed_pairs`
describes it at the face box found in the target.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from ganinv.metrics.identity import identity_cosine, identity_distance
from ganinv.models.dlib_face import DlibRecogniser
from ganinv.models.facenet import load_face_network
from ganinv.runtime import UserError

KINDS = ("in_dag", "vggface2", "dlib")


def batched(fn, images: torch.Tensor, device: torch.device, batch: int = 100) -> torch.Tensor:
    """``fn`` applied to ``images`` in batches on ``device`` without gradients; results on CPU."""
    with torch.no_grad():
        return torch.cat(
            [fn(images[i : i + batch].to(device)).cpu() for i in range(0, len(images), batch)]
        )


def signed(images: np.ndarray) -> torch.Tensor:
    """uint8 NCHW -> float in [-1, 1] (the torch face networks' input range)."""
    return torch.from_numpy(np.ascontiguousarray(images)).float() / 127.5 - 1.0


@dataclass
class IdentityNetwork:
    """One loaded identity network (see the module docstring)."""

    kind: str
    net: object
    device: torch.device

    def embed(self, images: np.ndarray) -> np.ndarray:
        """[N, D] float64 embeddings of uint8 NCHW faces (NaN rows: no face found)."""
        if self.kind == "dlib":
            return self.net.describe(images=images).descriptors
        return batched(self.net.embed, signed(images), self.device).double().numpy()

    def embed_pairs(
        self, targets: np.ndarray, reconstructions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Embeddings of targets and reconstructions, and which targets had a face found.

        dlib: the reconstruction is described at its target's face box; rows whose target has
        no face are NaN in both. Torch networks: every row is valid.
        """
        if self.kind != "dlib":
            return (self.embed(targets), self.embed(reconstructions),
                    np.ones(len(targets), dtype=bool))  # fmt: skip
        found = self.net.describe(images=targets)
        described = self.net.describe(images=reconstructions, boxes=found.boxes)
        return found.descriptors, described.descriptors, found.detected


def load_identity_network(
    *,
    kind: str,
    path: str | os.PathLike,
    device: torch.device,
    landmarks_path: str | os.PathLike | None = None,
) -> IdentityNetwork:
    """Load the identity network of ``kind`` from ``path`` (dlib: also its landmarks file)."""
    if kind == "dlib":
        if landmarks_path is None:
            raise UserError("the dlib identity network needs its 5-point landmarks file")
        net = DlibRecogniser(recognition_path=path, landmarks_path=landmarks_path)
        return IdentityNetwork(kind, net, device)
    return IdentityNetwork(kind, load_face_network(kind, path, device), device)


def pair_measures(emb_targets: np.ndarray, emb_recon: np.ndarray) -> dict[str, np.ndarray]:
    """Per pair: cosine similarity, 1 - cosine (the paper's 'FID') and Euclidean distance."""
    cosine = identity_cosine(a=emb_targets, b=emb_recon)
    return {
        "identity_cosine": cosine,
        "facenet_cosine": 1.0 - cosine,
        "identity_distance": identity_distance(a=emb_targets, b=emb_recon),
    }
