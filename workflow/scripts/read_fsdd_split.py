"""Snakemake adapter of rule read_fsdd_split."""

from ganinv.data.fsdd import write_fsdd_split
from ganinv.scripting import run


def main(smk):
    write_fsdd_split(verified=smk.input.verified, out_h5=smk.output.h5, **smk.params.read)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
