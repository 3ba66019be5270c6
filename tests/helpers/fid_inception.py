"""pytorch-fid's FID InceptionV3 weights in its own layout, with random values."""

from __future__ import annotations

from unittest import mock

import torch


def fid_inception_random_state() -> dict[str, torch.Tensor]:
    """pytorch-fid's FID InceptionV3 state dict with random weights: the network is built by
    pytorch-fid itself (its download and its load stubbed) and its own state dict is taken."""
    import pytorch_fid.inception as pfi
    import torchvision

    captured: dict[str, torch.Tensor] = {}

    def capture(self, state_dict, *args, **kwargs):
        captured.update(self.state_dict())

    with mock.patch.object(pfi, "load_state_dict_from_url", lambda *a, **k: {}), \
         mock.patch.object(torchvision.models.Inception3, "load_state_dict", capture):  # fmt: skip
        pfi.fid_inception_v3()
    return captured
