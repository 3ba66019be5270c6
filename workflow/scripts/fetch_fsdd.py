"""Snakemake adapter of rule fetch_fsdd."""

from ganinv.data.fsdd import ensure_fsdd
from ganinv.scripting import run


def main(smk):
    ensure_fsdd(
        folder=smk.params.folder,
        download_dir=smk.params.download_dir,
        url=smk.params.url,
        out_json=smk.output.verified,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
