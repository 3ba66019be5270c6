"""Snakemake adapter of rule fetch_photo_dataset."""

from ganinv.data.photo_datasets import ensure_photo_dataset
from ganinv.scripting import run


def main(smk):
    ensure_photo_dataset(
        name=smk.params.name,
        folder=smk.params.folder,
        download_dir=smk.params.download_dir,
        out_json=smk.output.verified,
        out_manifest=smk.output.manifest,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
