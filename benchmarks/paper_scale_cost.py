"""Compute of the paper preset, counted: FLOPs per network pass, then per job, then GPU hours.

Each network of the paper preset is built at thesis size with random weights (cost does not
depend on them) and one forward pass of one sample is counted with torch's FlopCounterMode.
Jobs are sums of passes (a training step = forward + backward = 3 forward passes; counts below).
GPU hours = FLOPs / an assumed sustained rate (--tflops, default 20 TFLOP/s: a conservative
fraction of an A100/H100/H200's fp32/TF32 peak for these small convolutional networks). The
FLOP counts are measured; the hours are an estimate that scales with that assumption.

Usage: python benchmarks/paper_scale_cost.py [--tflops 20] [--real-probes 1000] [--markdown]
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

from ganinv.models.digits import DigitClassifier
from ganinv.models.encoder import AudioEncoder, ResNetEncoder
from ganinv.models.progan import Generator as ProGAN
from ganinv.models.stylegan2 import Generator as StyleGAN2
from ganinv.models.wavegan import Generator as WaveGAN


def forward_flops(module: torch.nn.Module, *inputs: torch.Tensor) -> float:
    """FLOPs of one forward pass (multiply-add = 2 FLOPs) of a batch of one."""
    module.eval().requires_grad_(False)
    counter = FlopCounterMode(display=False)
    with counter:
        module(*inputs)
    return float(counter.get_total_flops())


def unit_costs() -> dict[str, float]:
    """Forward FLOPs per sample of every network the paper preset runs."""
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    image_128 = torch.rand(1, 3, 128, 128) * 2 - 1
    clip = torch.rand(1, 1, 16384) * 2 - 1
    return {
        "progan_128": forward_flops(ProGAN(128, 512), torch.randn(1, 512)),
        "stylegan2_1024": forward_flops(StyleGAN2(1024, 512, 512, 8), torch.randn(1, 512)),
        "resnet18_encoder_224": forward_flops(ResNetEncoder(512, 224), image_128),
        "facenet_vggface2_160": forward_flops(InceptionResnetV1(), torch.rand(1, 3, 160, 160)),
        "wavegan_d64": forward_flops(WaveGAN(100, 64), torch.rand(1, 100)),
        "audio_encoder_224": forward_flops(AudioEncoder(100, input_size=224), clip),
        "digit_classifier_w64": forward_flops(DigitClassifier(width=64, blocks=(2, 2, 2, 2)), clip),
    }


def job_costs(u: dict[str, float], real_probes: int) -> list[tuple[str, str, float]]:
    """(job, how it is counted, FLOPs) for the paper preset's heavy jobs."""
    g, s, e, f = (
        u["progan_128"],
        u["stylegan2_1024"],
        u["resnet18_encoder_224"],
        u["facenet_vggface2_160"],
    )
    w, a, c = u["wavegan_d64"], u["audio_encoder_224"], u["digit_classifier_w64"]
    # Encoder step (full variant, per sample): encoder fwd+bwd (3e), G(z_hat) fwd+bwd (3g),
    # FaceNet on G(z_hat) fwd+bwd (3f) and on the target (f). Upper bound for all 3 variants.
    encoder_step = 3 * e + 3 * g + 4 * f
    gd = 3 * g  # one GD iteration per face: G forward + backward to z (counted as 3 forwards)
    audio_step = 3 * a + 3 * w + 4 * c
    return [
        ("sample 100k training faces", "1e5 G", 1e5 * g),
        ("train 3 face encoders", "3 x 60k steps x 16 x (3e+3g+4f)", 3 * 6e4 * 16 * encoder_step),
        ("GD-200, 50 test faces", "50 x 200 x 3g", 50 * 200 * gd),
        ("hybrid-50, 50 test faces", "50 x (e + 50 x 3g)", 50 * (e + 50 * gd)),
        (
            f"real faces: GD-200 + hybrid-50, {real_probes} probes",
            "probes x (200 + 50) x 3g",
            real_probes * (250 * gd + e),
        ),
        ("Figure 2.17: 50 StyleGAN2 faces + hybrid-50", "50 s + 50 x 50 x 3g", 50 * s + 2500 * gd),
        ("sample 50k WaveGAN clips", "5e4 w", 5e4 * w),
        ("train 2 digit classifiers", "2 x 20k steps x 64 x 3c", 2 * 2e4 * 64 * 3 * c),
        ("train audio encoder", "30k steps x 64 x (3a+3w+4c)", 3e4 * 64 * audio_step),
        ("audio GD-200 + hybrid-50, 50 clips", "50 x 250 x 3(w+c)", 50 * 250 * 3 * (w + c)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tflops", type=float, default=20.0, help="assumed sustained TFLOP/s")
    parser.add_argument("--real-probes", type=int, default=1000, help="real-face probes")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    units = unit_costs()
    jobs = job_costs(units, args.real_probes)
    rate = args.tflops * 1e12
    if args.markdown:
        print("| network (one sample) | forward GFLOPs |\n|---|---|")
        for name, flops in units.items():
            print(f"| {name} | {flops / 1e9:.2f} |")
        print(
            f"\n| job | counted as | PFLOPs | GPU h at {args.tflops:g} TFLOP/s |\n|---|---|---|---|"
        )
        for name, how, flops in jobs:
            print(f"| {name} | {how} | {flops / 1e15:.2f} | {flops / rate / 3600:.2f} |")
        total = sum(flops for _, _, flops in jobs)
        print(f"| **total** | | {total / 1e15:.1f} | **{total / rate / 3600:.1f}** |")
        return
    for name, flops in units.items():
        print(f"{name:28s} {flops / 1e9:10.2f} GFLOPs per forward")
    for name, how, flops in jobs:
        print(f"{name:48s} {flops / 1e15:9.2f} PFLOPs {flops / rate / 3600:8.2f} h  ({how})")
    total = sum(flops for _, _, flops in jobs)
    print(f"{'total':48s} {total / 1e15:9.2f} PFLOPs {total / rate / 3600:8.2f} h")


if __name__ == "__main__":
    main()
