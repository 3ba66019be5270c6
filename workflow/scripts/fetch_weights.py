"""Snakemake adapter of rules fetch_weights and fetch_weights_by_name_hash."""

from ganinv.scripting import run
from ganinv.weights import fetch_file


def main(smk):
    fetch_file(
        path=smk.output.weights,
        root=smk.params.weights_dir,
        needed=smk.params.needed,
        retries=smk.params.retries,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
