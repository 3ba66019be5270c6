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
    # Small networks: one thread each, so that two such jobs share 2 cores.
    threads: 1
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


rule audio_metrics:
    """Per-clip and summary metrics of one audio inversion (waveform MSE, STFT SSIM, LSD, IS...)."""
    input:
        inversion="results/audio/inversion/{target_set}/{method}.h5",
        targets=lambda wildcards: audio_targets(wildcards.target_set),
        evaluator="results/audio/classifier/evaluator.pt",
    output:
        per_clip="results/audio/metrics/{target_set}/{method}_per_clip.csv",
        summary="results/audio/metrics/{target_set}/{method}.csv",
    log:
        "results/logs/audio/metrics_{target_set}_{method}.log",
    benchmark:
        "results/benchmarks/audio/metrics_{target_set}_{method}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    # Small networks: one thread each, so that two such jobs share 2 cores.
    threads: 1
    params:
        label=lambda wildcards: wildcards.method,
        target_set=lambda wildcards: wildcards.target_set,
        is_splits=AUDIO["metrics"]["is_splits"],
        device=config["device"],
    script:
        "../scripts/audio_metrics.py"


rule table_3:
    """Thesis chapter 3 tables: the three methods on generated clips and on held-out voices."""
    input:
        summaries=lambda wildcards: expand(
            "results/audio/metrics/{target_set}/{method}.csv",
            target_set=wildcards.target_set,
            method=INVERSION_METHODS,
        ),
    output:
        csv="results/thesis/table_3_{target_set}.csv",
        md="results/thesis/table_3_{target_set}.md",
        tex="results/thesis/table_3_{target_set}.tex",
    log:
        "results/logs/thesis/table_3_{target_set}.log",
    benchmark:
        "results/benchmarks/thesis/table_3_{target_set}.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=INVERSION_METHODS,
        target_set=lambda wildcards: wildcards.target_set,
        preset=PRESET_LABEL,
        gd_settings=AUDIO["inversion"]["gd"],
        hybrid_settings=AUDIO["inversion"]["hybrid"],
    script:
        "../scripts/table_3.py"
