"""Sampling into HDF5 vs bare generator forward passes: throughput ratio (target >= 0.8).

Both are measured in the same process, alternating, so machine noise affects both alike.
Usage: python benchmarks/bench_sampling.py [generator.pt] [--n 2000] [--batch 100] [--repeats 3]
Without a generator file it builds the embedded default's generator with random weights
(the cost of a forward pass does not depend on the weights).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ganinv.images import to_uint8
from ganinv.models.files import load_model, save_model
from ganinv.models.progan import Generator
from ganinv.runtime import configure_torch, resolve_device
from ganinv.sample import draw_latents, sample_to_h5

DEFAULT_KWARGS = {"resolution": 32, "z_dim": 512, "channels": [64, 64, 32, 16]}


def bare_forward(generator_path: Path, n: int, batch: int, device: torch.device) -> float:
    """Images/s of the generator alone (latents drawn the same way, output to uint8 on CPU)."""
    generator, _ = load_model(generator_path, "progan.Generator", device)
    z = draw_latents(n, generator.z_dim, "normal", 0)
    started = time.perf_counter()
    with torch.no_grad():
        for start in range(0, n, batch):
            to_uint8(generator(z[start : start + batch].to(device))).cpu()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("generator", nargs="?")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    configure_torch(args.threads)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.generator) if args.generator else Path(tmp) / "g.pt"
        if not args.generator:
            torch.manual_seed(0)
            save_model(path, Generator(**DEFAULT_KWARGS), "progan.Generator", DEFAULT_KWARGS)
        bare, sampled = [], []
        bare_forward(path, args.batch, args.batch, device)  # warm-up
        for repeat in range(args.repeats):
            bare.append(bare_forward(path, args.n, args.batch, device))
            summary = sample_to_h5(
                path, Path(tmp) / f"s{repeat}.h5", args.n, "normal", 0, args.batch, device
            )
            sampled.append(summary["samples_per_second"])
    ratio = statistics.median(sampled) / statistics.median(bare)
    print(f"generator forward alone : {statistics.median(bare):9.1f} images/s")
    print(f"sampling into HDF5      : {statistics.median(sampled):9.1f} images/s")
    print(f"ratio (target >= 0.8)   : {ratio:9.3f}")


if __name__ == "__main__":
    main()
