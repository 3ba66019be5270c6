"""Inversion speed ratios, measured side by side in one process (machine noise cancels).

* encoder vs GD-200: seconds per image (target >= 100x on the CPU default; thesis 287x);
* hybrid-k vs GD-200: seconds per image, and PSNR when trained models are given (target: hybrid
  PSNR >= GD-200 PSNR at <= 1/10 of its time);
* GD over 50 targets in one batch vs one target at a time, per image (target >= 3x on CPU).

Usage: python benchmarks/bench_inversion.py [--generator G.pt --encoder E.pt --targets T.h5]
       [--threads 1] [--k 50]
Without files it builds the embedded default's ProGAN and encoder with random weights and inverts
their own samples (inversion cost does not depend on the weights; PSNR then means nothing and is
not reported). With a finished default run, pass results/faces/<gan>/generator.pt,
results/faces/<gan>/encoder/full.pt and results/faces/<gan>/samples/test.h5 (<gan>: dcgan, the
generator of Table 2.3, or progan).
"""

from __future__ import annotations

import argparse
import time

import torch

from ganinv.data.h5io import read_h5
from ganinv.invert import invert_encoder, invert_gd, invert_hybrid
from ganinv.metrics.image import psnr_signed
from ganinv.models.encoder import ResNetEncoder
from ganinv.models.files import load_model
from ganinv.models.progan import Generator
from ganinv.runtime import configure_torch

DEFAULT_G = {"resolution": 32, "z_dim": 512, "channels": [64, 64, 32, 16]}
GD = {"iterations": 200, "lr": 0.01, "stochastic_clipping": True}


def models_and_targets(args) -> tuple[torch.nn.Module, torch.nn.Module, torch.Tensor, bool]:
    """(generator, encoder, targets in [-1, 1], trained?)."""
    if args.generator:
        generator, _ = load_model(args.generator, "progan.Generator")
        encoder, _ = load_model(args.encoder, "encoder.ResNetEncoder")
        images = read_h5(args.targets, ["images"])[0]["images"][: args.n]
        targets = torch.from_numpy(images).float() / 127.5 - 1.0
        return generator, encoder, targets, True
    torch.manual_seed(0)
    generator = Generator(**DEFAULT_G).eval()
    encoder = ResNetEncoder(DEFAULT_G["z_dim"], input_size=32).eval()
    with torch.no_grad():
        targets = generator(torch.randn(args.n, DEFAULT_G["z_dim"])).clamp(-1, 1)
    return generator, encoder, targets, False


def seconds_per_image(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) / result.z.shape[0], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator")
    parser.add_argument("--encoder")
    parser.add_argument("--targets")
    parser.add_argument("--n", type=int, default=50, help="targets (thesis: 50)")
    parser.add_argument("--k", type=int, default=50, help="hybrid iterations (thesis: 50)")
    parser.add_argument("--single", type=int, default=5, help="targets inverted one at a time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default run: 1)")
    args = parser.parse_args()
    configure_torch(args.threads)
    generator, encoder, targets, trained = models_and_targets(args)

    def psnr_of(result) -> float:
        return float(psnr_signed(result.reconstructions, targets).mean())

    gd_s, gd = seconds_per_image(lambda: invert_gd(generator, targets, seed=1, **GD))
    enc_s, enc = seconds_per_image(lambda: invert_encoder(encoder, generator, targets))
    hyb_s, hyb = seconds_per_image(
        lambda: invert_hybrid(encoder, generator, targets, iterations=args.k, lr=0.01)
    )
    single = []
    for i in range(args.single):
        s, _ = seconds_per_image(lambda i=i: invert_gd(generator, targets[i : i + 1], seed=1, **GD))
        single.append(s)
    single_s = sum(single) / len(single)

    print(f"targets: {len(targets)} ({'trained models' if trained else 'random weights'}), "
          f"threads: {args.threads}")  # fmt: skip
    print(f"GD-200 batched      {gd_s * 1e3:9.2f} ms/image")
    print(f"GD-200 one by one   {single_s * 1e3:9.2f} ms/image  (mean of {args.single})")
    print(f"encoder             {enc_s * 1e3:9.2f} ms/image")
    print(f"hybrid-{args.k:<3d}          {hyb_s * 1e3:9.2f} ms/image")
    print(f"ratio encoder vs GD-200 (per image):      {gd_s / enc_s:8.1f}x   target >= 100x")
    print(f"ratio batched vs one-by-one GD-200:       {single_s / gd_s:8.1f}x   target >= 3x")
    print(f"hybrid-{args.k} time / GD-200 time:          {hyb_s / gd_s:8.3f}    target <= 0.1")
    if trained:
        print(f"PSNR GD-200 {psnr_of(gd):.2f} dB, encoder {psnr_of(enc):.2f} dB, "
              f"hybrid-{args.k} {psnr_of(hyb):.2f} dB   target: hybrid >= GD-200")  # fmt: skip


if __name__ == "__main__":
    main()
