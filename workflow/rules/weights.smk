# Pretrained files: the rules that download what this configuration reads (weights_helpers.smk)
# into the weights folder when missing (network permitting). Offline, the job fails at once; the
# onerror handler lists every missing file and where it goes.
# The rules use run blocks, not scripts, and parameters that do not depend on the rest of the
# config: Snakemake must never decide to rerun a fetch (it deletes the output first) because a
# script file or a parameter changed after the user placed the weights by hand.


rule fetch_weights:
    """Download a pretrained file with a published sha256 (checked by Snakemake's ensure)."""
    output:
        weights=ensure(
            os.path.join(WEIGHTS_DIR, "{pinned}"),
            sha256=lambda wildcards: registry_entry(wildcards.pinned).sha256,
        ),
    log:
        "results/logs/weights/{pinned}.log",
    wildcard_constraints:
        pinned=weights_pattern(pinned=True),
    localrule: True
    params:
        weights_dir=lambda wildcards, output: weights_root(
            output.weights, wildcards.pinned
        ),
        retries=3,
    run:
        fetch_logged(output.weights, params.weights_dir, params.retries, log[0])


rule fetch_weights_by_name_hash:
    """Download a pretrained file whose torch-hub name carries its sha256 prefix (checked)."""
    output:
        weights=ensure(os.path.join(WEIGHTS_DIR, "{named}"), non_empty=True),
    log:
        "results/logs/weights/{named}.log",
    wildcard_constraints:
        named=weights_pattern(pinned=False),
    localrule: True
    params:
        weights_dir=lambda wildcards, output: weights_root(
            output.weights, wildcards.named
        ),
        retries=3,
    run:
        fetch_logged(output.weights, params.weights_dir, params.retries, log[0])
