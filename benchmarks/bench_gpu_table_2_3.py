"""Table 2.3's times at thesis size on one GPU, beside the thesis's (RTX 2080 Ti) seconds.

Thesis size: ProGAN 128 px with the thesis's widths (512-d z; 512, 512, 512, 512, 256, 128),
random weights (cost does not depend on them), 50 targets in one batch; GD-200 (Adam 0.01,
stochastic clipping), the ResNet-18 encoder at 224 px input, hybrid-50. Measured with the tables'
own code (``ganinv.timing.time_methods``: warm-up, interleaved rounds, median, CUDA synchronised),
once per precision: fp32 (TF32 off) and TF32 (matmul and cuDNN), and, with ``--compile``, with the
generator and encoder compiled by ``torch.compile``. One command, a few minutes on a GPU:

    python benchmarks/bench_gpu_table_2_3.py [--compile] [--out docs/gpu_table_2_3.csv]

``--small`` shrinks everything (32 px, narrow, 4 targets, GD-4 / hybrid-3) so that the script can be
checked on a CPU (``--device cpu --small``); its numbers then mean nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

from ganinv.experiments.face_tables import THESIS_TABLE_2_3
from ganinv.invert import InversionSettings, pixel_mae
from ganinv.models.encoder import ResNetEncoder
from ganinv.models.progan import Generator
from ganinv.runtime import configure_torch, resolve_device
from ganinv.timing import TimedMethod, time_methods

THESIS = {"resolution": 128, "z_dim": 512, "channels": [512, 512, 512, 512, 256, 128],
          "n": 50, "encoder_input": 224, "gd": 200, "hybrid": 50}  # fmt: skip
SMALL = {"resolution": 32, "z_dim": 32, "channels": [16, 16, 16, 8], "n": 4,
         "encoder_input": 32, "gd": 4, "hybrid": 3}  # fmt: skip


def set_precision(precision: str) -> None:
    """fp32: full-precision matmuls and convolutions; tf32: TensorFloat-32 for both."""
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--small", action="store_true", help="tiny sizes, to check the script")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd models")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--block", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="CPU threads of torch")
    parser.add_argument("--out", type=Path, help="also write the results as CSV here")
    args = parser.parse_args()
    configure_torch(args.threads)
    device = resolve_device(args.device)
    size = SMALL if args.small else THESIS
    torch.manual_seed(0)
    generator = Generator(size["resolution"], size["z_dim"], size["channels"]).to(device).eval()
    encoder = ResNetEncoder(size["z_dim"], input_size=size["encoder_input"]).to(device).eval()
    with torch.no_grad():
        targets = generator(torch.randn(size["n"], size["z_dim"], device=device)).clamp(-1, 1)
    gd = InversionSettings(method="gd", iterations=size["gd"], lr=0.01, stochastic_clipping=True)
    hybrid = InversionSettings(method="hybrid", iterations=size["hybrid"], lr=0.01,
                               stochastic_clipping=True)  # fmt: skip
    encoder_settings = InversionSettings(method="encoder")
    variants = [("eager", generator, encoder)]
    if args.compile:
        variants.append(("compiled", torch.compile(generator), torch.compile(encoder)))
    rows = []
    for precision in ("fp32", "tf32"):
        set_precision(precision)
        for mode, gen, enc in variants:
            methods = [
                TimedMethod(label="gd", loss_fn=pixel_mae, settings=gd),
                TimedMethod(label="encoder", loss_fn=pixel_mae, encoder=enc,
                            settings=encoder_settings),
                TimedMethod(label="hybrid", loss_fn=pixel_mae, encoder=enc, settings=hybrid),
            ]  # fmt: skip
            timed = time_methods(generator=gen, targets=targets, methods=methods,
                                 repeats=args.repeats, block=args.block, device=device)  # fmt: skip
            for row in timed:
                thesis = THESIS_TABLE_2_3.loc[row["method"], "seconds_total"]
                row.update(precision=precision, mode=mode, thesis_seconds=thesis)
                rows.append(row)
                n = row["n_targets"]
                low, high = row["seconds_per_target_min"] * n, row["seconds_per_target_max"] * n
                print(f"{precision:5s} {mode:8s} {row['method']:8s} {row['seconds_total']:10.3f} s "
                      f"for {n} (rounds {low:.3f}-{high:.3f})  thesis {thesis:8.2f} s  on "
                      f"{row['device']}", flush=True)  # fmt: skip
    table = pd.DataFrame(rows)
    by = table.set_index(["precision", "mode", "method"])["seconds_total"]
    for precision, mode in table[["precision", "mode"]].drop_duplicates().itertuples(index=False):
        gd_s, enc_s, hyb_s = (by[(precision, mode, m)] for m in ("gd", "encoder", "hybrid"))
        print(f"{precision} {mode}: encoder vs GD {gd_s / enc_s:.0f}x (thesis 287x), hybrid/GD "
              f"{hyb_s / gd_s:.3f} (thesis 0.029)")  # fmt: skip
    if args.out is not None:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
