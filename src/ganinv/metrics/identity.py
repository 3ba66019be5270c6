"""Face identification against a gallery: is a (reconstructed) face still the same person?

A gallery holds several images of each identity; each identity is represented by the mean of its
L2-normalised embeddings (re-normalised). A query is identified correctly at rank k when its
true identity is among the k gallery identities of highest cosine similarity.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


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
