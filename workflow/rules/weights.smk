# Pretrained files: downloaded into the weights folder when missing (network permitting).
# Offline, the job fails at once with the list of files to place by hand and where.


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
    conda:
        "../../envs/ganinv.yaml"
    params:
        weights_dir=lambda wildcards, output: weights_root(
            output.weights, wildcards.pinned
        ),
        needed=NEEDED_WEIGHTS,
        retries=3,
    script:
        "../scripts/fetch_weights.py"


rule fetch_weights_by_name_hash:
    """Download a pretrained file whose torch-hub name carries its sha256 prefix (checked)."""
    output:
        weights=ensure(os.path.join(WEIGHTS_DIR, "{named}"), non_empty=True),
    log:
        "results/logs/weights/{named}.log",
    wildcard_constraints:
        named=weights_pattern(pinned=False),
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        weights_dir=lambda wildcards, output: weights_root(
            output.weights, wildcards.named
        ),
        needed=NEEDED_WEIGHTS,
        retries=3,
    script:
        "../scripts/fetch_weights.py"
