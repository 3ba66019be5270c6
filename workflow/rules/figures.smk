# Figures of the face chapter.


rule figure_reconstructions:
    """Grid: target | GD | encoder | hybrid for the first test faces."""
    input:
        targets="results/faces/samples/test.h5",
        inversions=expand(
            "results/faces/inversion/{method}.h5", method=INVERSION_METHODS
        ),
    output:
        figure="results/thesis/figure_reconstructions.png",
    log:
        "results/logs/thesis/figure_reconstructions.log",
    benchmark:
        "results/benchmarks/thesis/figure_reconstructions.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=INVERSION_METHODS,
        n_faces=FACES["metrics"]["figure_faces"],
    script:
        "../scripts/figure_reconstructions.py"


rule figure_psnr_iterations:
    """PSNR versus iterations: GD from a random start vs the hybrid from the encoder's start."""
    input:
        inversions=expand(
            "results/faces/inversion/{method}.h5", method=INVERSION_METHODS
        ),
    output:
        figure="results/thesis/figure_psnr_iterations.png",
    log:
        "results/logs/thesis/figure_psnr_iterations.log",
    benchmark:
        "results/benchmarks/thesis/figure_psnr_iterations.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=INVERSION_METHODS,
    script:
        "../scripts/figure_psnr_iterations.py"


rule figure_encoder_training:
    """Training curves of the encoder variants (losses, validation PSNR)."""
    input:
        curves=expand(
            "results/faces/encoder/{variant}_curve.csv", variant=ENCODER_VARIANTS
        ),
    output:
        figure="results/thesis/figure_encoder_training.png",
    log:
        "results/logs/thesis/figure_encoder_training.log",
    benchmark:
        "results/benchmarks/thesis/figure_encoder_training.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        variants=ENCODER_VARIANTS,
    script:
        "../scripts/figure_encoder_training.py"
