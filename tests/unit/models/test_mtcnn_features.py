"""MTCNN's pretrained ONet as the perceptual network of the DCGAN's encoders."""

from __future__ import annotations

import torch

from ganinv.losses import load_perceptual_network, perceptual_distance
from tests.helpers.dcgan_faces import dcgan_faces


def test_onet_features_are_pretrained_frozen_and_differentiable(one_thread):
    net = load_perceptual_network("mtcnn_onet", None)
    faces = dcgan_faces(6).float() / 127.5 - 1
    shapes = [tuple(f.shape[1:]) for f in net.features(faces)]
    assert shapes == [(32, 46, 46), (64, 21, 21), (64, 8, 8), (128, 3, 3)]
    assert not any(p.requires_grad for p in net.parameters())
    x = faces.clone().requires_grad_(True)
    same = perceptual_distance(net, x, faces)
    assert torch.allclose(same, torch.zeros(6), atol=1e-10)
    other = perceptual_distance(net, x, faces.roll(1, dims=0))
    other.sum().backward()
    assert (other > 0).all() and x.grad.abs().sum() > 0

    # Pretrained, and fed as MTCNN feeds it: its face / no-face head (measured: > 0.94 on DCGAN
    # faces, < 0.005 on noise) tells faces from noise through these features.
    def face_probability(images):
        h = net.features(images)[-1].permute(0, 3, 2, 1).flatten(1)  # ONet's flattening order
        logits = net.net.dense6_1(net.net.prelu5(net.net.dense5(h)))
        return net.net.softmax6_1(logits)[:, 1]

    assert (face_probability(faces) > 0.9).all()
    noise = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert (face_probability(noise) < 0.1).all()
