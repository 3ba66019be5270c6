"""Snakemake adapter of rules sample_progan and sample_wavegan."""

from ganinv.runtime import resolve_device
from ganinv.sample import sample_to_h5
from ganinv.scripting import run


def main(smk):
    sample_to_h5(
        generator_path=smk.input.generator,
        out_h5=smk.output.h5,
        n=smk.params.n,
        prior=smk.params.prior,
        seed=smk.params.seed,
        batch_size=smk.params.batch_size,
        device=resolve_device(smk.params.device),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
