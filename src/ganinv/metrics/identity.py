"""Face identification against a gallery: is a (reconstructed) face still the same person?

A gallery holds several images of each identity; each identity is represented by the mean of its
L2-normalised embeddings (re-normalised). A query is identified correctly at rank k when its
true identity is among the k gallery identities of highest cosine similarity. Pairs of embeddings
are compared by :func:`identity_distance` and :func:`identity_cosine` (NaN rows: no face found).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganinv.runtime import UserError


def identity_centroids(embeddings: Tensor, identities: np.ndarray) -> tuple[Tensor, np.ndarray]:
    """(unit-norm mean embedding per identity [I, D], identity labels [I] in sorted order)."""
    labels = np.unique(identities)
    unit = torch.nn.functional.normalize(embeddings.double(), dim=1)
    rows = [unit[torch.from_numpy(identities == label)].mean(0) for label in labels]
    return torch.nn.functional.normalize(torch.stack(rows), dim=1), labels


def identification_ranks(
    query: Tensor, query_identities: np.ndarray, centroids: Tensor, labels: np.ndarray
) -> np.ndarray:
    """1-based rank of each query's true identity among the gallery identities (0: not in it)."""
    sims = torch.nn.functional.normalize(query.double(), dim=1) @ centroids.T
    order = torch.argsort(sims, dim=1, descending=True).numpy()
    ranked = labels[order]
    hits = ranked == np.asarray(query_identities)[:, None]
    return np.where(hits.any(1), hits.argmax(1) + 1, 0)


def top_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """Per query: 1.0 when identified within the first ``k`` identities, else 0.0."""
    return ((ranks >= 1) & (ranks <= k)).astype(np.float64)


def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise UserError(
            f"descriptors must be two [N, D] arrays of one shape, got {a.shape} and {b.shape}"
        )
    return a, b


def identity_distance(*, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance per row (dlib: below 0.6 the same person); NaN stays."""
    a, b = _pair(a, b)
    return np.linalg.norm(a - b, axis=1)


def identity_cosine(*, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity per row; a NaN row gives NaN (a zero row too: no direction)."""
    a, b = _pair(a, b)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (a * b).sum(1) / norms, np.nan)
