# Metrics of the inversions and the thesis's tables.


rule face_metrics:
    """Per-image and summary metrics of one inversion output ({experiment}: inversion|ablation)."""
    input:
        inversion="results/faces/{experiment}/{name}.h5",
        targets="results/faces/samples/test.h5",
        evaluator=face_network_file("evaluator"),
    output:
        per_image="results/faces/metrics/{experiment}/{name}_per_image.csv",
        summary="results/faces/metrics/{experiment}/{name}.csv",
    log:
        "results/logs/faces/metrics_{experiment}_{name}.log",
    benchmark:
        "results/benchmarks/faces/metrics_{experiment}_{name}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    params:
        evaluator_kind=FACES["facenet"]["evaluator"],
        label=lambda wildcards: wildcards.name,
        kid_subsets=FACES["metrics"]["kid_subsets"],
        seed=lambda wildcards: rule_seed("faces", "metrics", wildcards.name),
        device=config["device"],
    script:
        "../scripts/face_metrics.py"


rule table_2_3:
    """Thesis Table 2.3: GD, encoder and hybrid on the 50 generated test faces."""
    input:
        summaries=expand(
            "results/faces/metrics/inversion/{method}.csv", method=INVERSION_METHODS
        ),
        gd="results/faces/inversion/gd.h5",
    output:
        csv="results/thesis/table_2_3.csv",
        md="results/thesis/table_2_3.md",
        tex="results/thesis/table_2_3.tex",
    log:
        "results/logs/thesis/table_2_3.log",
    benchmark:
        "results/benchmarks/thesis/table_2_3.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=INVERSION_METHODS,
        preset=PRESET_LABEL,
        gd_iterations=FACES["inversion"]["gd"]["iterations"],
        hybrid_iterations=FACES["inversion"]["hybrid"]["iterations"],
    script:
        "../scripts/table_2_3.py"


rule table_1_ablation:
    """The paper's Table 1: encoder variants (z-loss only, + perceptual, full)."""
    input:
        summaries=expand(
            "results/faces/metrics/ablation/{variant}.csv", variant=ENCODER_VARIANTS
        ),
    output:
        csv="results/thesis/table_1_ablation.csv",
        md="results/thesis/table_1_ablation.md",
        tex="results/thesis/table_1_ablation.tex",
    log:
        "results/logs/thesis/table_1_ablation.log",
    benchmark:
        "results/benchmarks/thesis/table_1_ablation.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        variants=ENCODER_VARIANTS,
        preset=PRESET_LABEL,
    script:
        "../scripts/table_1_ablation.py"
