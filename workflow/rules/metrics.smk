# Metrics of the inversions and the thesis's tables.


rule target_features:
    """Inception features of a target set, shared by the metrics of every method."""
    input:
        images="results/faces/{targets}.h5",
        inception=fid_network()[1],
    output:
        h5="results/faces/{targets}_inception.h5",
    log:
        "results/logs/faces/inception_{targets}.log",
    benchmark:
        "results/benchmarks/faces/inception_{targets}.tsv"
    wildcard_constraints:
        targets="|".join(
            ["(dcgan|progan)/samples/test", "real/probes"]
            + [f"{face_set}/faces" for face_set in GENERALISATION_SETS]
        ),
    conda:
        "../../envs/ganinv.yaml"
    threads: 1
    params:
        fid_network=fid_network()[0],
        device=config["device"],
    script:
        "../scripts/target_features.py"


rule face_metrics:
    """Per-image and summary metrics of one inversion output ({experiment}: inversion|ablation)."""
    input:
        unpack(lambda wildcards: evaluator_inputs(chapter_evaluator(wildcards.fgan))),
        inception=fid_network()[1],
        inversion="results/faces/{fgan}/{experiment}/{name}.h5",
        targets="results/faces/{fgan}/samples/test.h5",
        target_features="results/faces/{fgan}/samples/test_inception.h5",
    output:
        per_image="results/faces/{fgan}/metrics/{experiment}/{name}_per_image.csv",
        summary="results/faces/{fgan}/metrics/{experiment}/{name}.csv",
    log:
        "results/logs/faces/metrics_{fgan}_{experiment}_{name}.log",
    benchmark:
        "results/benchmarks/faces/metrics_{fgan}_{experiment}_{name}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    # Small networks: one thread each, so that two such jobs share 2 cores.
    threads: 1
    params:
        evaluator_kind=lambda wildcards: chapter_evaluator(wildcards.fgan)[0],
        label=lambda wildcards: wildcards.name,
        generator=lambda wildcards: generator_description(wildcards.fgan),
        fid_network=fid_network()[0],
        kid_subsets=FACES["metrics"]["kid_subsets"],
        seed=lambda wildcards: rule_seed(
            "faces", "metrics", wildcards.fgan, wildcards.name
        ),
        device=config["device"],
    script:
        "../scripts/face_metrics.py"


rule table_2_3:
    """Thesis Table 2.3: GD, encoder and hybrid on the 50 generated test faces."""
    input:
        summaries=expand(
            "results/faces/{gan}/metrics/inversion/{method}.csv",
            gan=CHAPTER_GAN,
            method=INVERSION_METHODS,
        ),
        gd=f"results/faces/{CHAPTER_GAN}/inversion/gd.h5",
        judgement=f"results/faces/{CHAPTER_GAN}/judgement.csv",
        timing=face_timing(CHAPTER_GAN),
    output:
        csv="results/thesis/table_2_3.csv",
        md=report(
            "results/thesis/table_2_3.md",
            caption="../report/table_2_3.rst",
            category="Faces",
            subcategory="Generated faces (Table 2.3)",
            labels={"result": "Table 2.3", "format": "table"},
        ),
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
            "results/faces/{gan}/metrics/ablation/{variant}.csv",
            gan=CHAPTER_GAN,
            variant=ENCODER_VARIANTS,
        ),
        judgement=f"results/faces/{CHAPTER_GAN}/judgement.csv",
        timing=face_timing(CHAPTER_GAN),
    output:
        csv="results/thesis/table_1_ablation.csv",
        md=report(
            "results/thesis/table_1_ablation.md",
            caption="../report/table_1_ablation.rst",
            category="Faces",
            subcategory="Encoder ablation (paper Table 1)",
            labels={"result": "Table 1 (paper)", "format": "table"},
        ),
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


use rule table_2_3 as table_2_3_more with:
    input:
        summaries=lambda wildcards: expand(
            "results/faces/{gan}/metrics/inversion/{method}.csv",
            gan=wildcards.fgan,
            method=INVERSION_METHODS,
        ),
        gd="results/faces/{fgan}/inversion/gd.h5",
        judgement="results/faces/{fgan}/judgement.csv",
        timing="results/faces/{fgan}/timing.csv",
    output:
        csv="results/thesis/{fgan}/table_2_3.csv",
        md=report(
            "results/thesis/{fgan}/table_2_3.md",
            caption="../report/table_2_3.rst",
            category="Faces",
            subcategory="Generated faces (Table 2.3), {fgan}",
            labels={"result": "Table 2.3 ({fgan})", "format": "table"},
        ),
        tex="results/thesis/{fgan}/table_2_3.tex",
    log:
        "results/logs/thesis/{fgan}/table_2_3.log",
    benchmark:
        "results/benchmarks/thesis/{fgan}/table_2_3.tsv"


use rule table_1_ablation as table_1_ablation_more with:
    input:
        summaries=lambda wildcards: expand(
            "results/faces/{gan}/metrics/ablation/{variant}.csv",
            gan=wildcards.fgan,
            variant=ENCODER_VARIANTS,
        ),
        judgement="results/faces/{fgan}/judgement.csv",
        timing="results/faces/{fgan}/timing.csv",
    output:
        csv="results/thesis/{fgan}/table_1_ablation.csv",
        md=report(
            "results/thesis/{fgan}/table_1_ablation.md",
            caption="../report/table_1_ablation.rst",
            category="Faces",
            subcategory="Encoder ablation (paper Table 1), {fgan}",
            labels={"result": "Table 1 (paper, {fgan})", "format": "table"},
        ),
        tex="results/thesis/{fgan}/table_1_ablation.tex",
    log:
        "results/logs/thesis/{fgan}/table_1_ablation.log",
    benchmark:
        "results/benchmarks/thesis/{fgan}/table_1_ablation.tsv"


rule face_set_metrics:
    """PSNR, SSIM, identity cosine (and identification vs the gallery) of a face-set inversion."""
    input:
        unpack(face_set_metric_inputs),
    output:
        per_image="results/faces/{face_set}/metrics/{method}_per_image.csv",
        summary="results/faces/{face_set}/metrics/{method}.csv",
    log:
        "results/logs/faces/metrics_{face_set}_{method}.log",
    benchmark:
        "results/benchmarks/faces/metrics_{face_set}_{method}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    # Small networks: one thread each, so that two such jobs share 2 cores.
    threads: 1
    params:
        evaluator_kind=lambda wildcards: face_set_evaluator(wildcards.face_set)[0],
        label=lambda wildcards: wildcards.method,
        generator=lambda wildcards: generator_description(
            face_set_gan(wildcards.face_set)
        ),
        fid_network=fid_network()[0],
        kid_subsets=FACES["metrics"]["kid_subsets"],
        seed=lambda wildcards: rule_seed(
            "faces", "face_set_metrics", wildcards.face_set, wildcards.method
        ),
        device=config["device"],
    script:
        "../scripts/face_set_metrics.py"


rule table_real_faces:
    """Real faces: identification top-1/top-5 and identity cosine of each method's reconstructions."""
    input:
        summaries=expand(
            "results/faces/real/metrics/{method}.csv", method=INVERSION_METHODS
        ),
        timing=face_timing("real"),
    output:
        csv="results/thesis/table_real_faces.csv",
        md=report(
            "results/thesis/table_real_faces.md",
            caption="../report/table_real_faces.rst",
            category="Faces",
            subcategory="Real faces",
            labels={"result": "identification", "format": "table"},
        ),
        tex="results/thesis/table_real_faces.tex",
    log:
        "results/logs/thesis/table_real_faces.log",
    benchmark:
        "results/benchmarks/thesis/table_real_faces.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=INVERSION_METHODS,
        preset=PRESET_LABEL,
        source=real_faces_description(),
        gd_iterations=FACES["inversion"]["gd"]["iterations"],
        hybrid_iterations=FACES["inversion"]["hybrid"]["iterations"],
    script:
        "../scripts/table_real_faces.py"


rule table_2_17:
    """Figure 2.17's numbers: each direction's faces vs the inverting GAN's own faces."""
    input:
        summaries=expand(
            "results/faces/{face_set}/metrics/{method}.csv",
            face_set=GENERALISATION_SETS,
            method=STYLEGAN2_METHODS,
        ),
        own=expand(
            "results/faces/{gan}/metrics/inversion/{method}.csv",
            gan=GENERALISATION_GANS,
            method=STYLEGAN2_METHODS,
        ),
        timing=[
            face_timing(name) for name in [*GENERALISATION_SETS, *GENERALISATION_GANS]
        ],
    output:
        csv="results/thesis/table_2_17.csv",
        md=report(
            "results/thesis/table_2_17.md",
            caption="../report/table_2_17.rst",
            category="Faces",
            subcategory="Another GAN's faces (Figure 2.17)",
            labels={"result": "Figure 2.17 numbers", "format": "table"},
        ),
        tex="results/thesis/table_2_17.tex",
    log:
        "results/logs/thesis/table_2_17.log",
    benchmark:
        "results/benchmarks/thesis/table_2_17.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        # Each direction's files, and each inverting GAN's own test faces.
        directions=generalisation_table_sets(),
        own=generalisation_own_sets(),
        preset=PRESET_LABEL,
        alignment=(
            "aligned and cropped with MTCNN"
            if GENERALISATION["align"]
            else "not re-aligned: drawn by a GAN trained on aligned faces"
        ),
        hybrid_iterations=FACES["inversion"]["hybrid"]["iterations"],
    script:
        "../scripts/table_2_17.py"


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
        timing="results/audio/timing/{target_set}.csv",
        judgement="results/audio/wavegan/judgement.csv",
    output:
        csv="results/thesis/table_3_{target_set}.csv",
        md=report(
            "results/thesis/table_3_{target_set}.md",
            caption="../report/table_3.rst",
            category="Audio",
            subcategory="Spoken digits ({target_set})",
            labels={"result": "Table 3 ({target_set})", "format": "table"},
        ),
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
