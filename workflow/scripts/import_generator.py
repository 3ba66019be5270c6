"""Snakemake adapter of rule import_generator."""

from ganinv.models.importers import import_generator
from ganinv.scripting import run


def main(smk):
    import_generator(
        checkpoint=smk.input.checkpoint,
        checkpoint_format=smk.params.checkpoint_format,
        model_path=smk.output.generator,
        allow_pickle=smk.params.allow_pickle,
        expected=smk.params.expected,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
