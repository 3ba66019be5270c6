# Figures of the face chapter.


rule figure_reconstructions:
    """Grid: target | GD | encoder | hybrid for the first test faces."""
    input:
        targets=f"results/faces/{CHAPTER_GAN}/samples/test.h5",
        inversions=expand(
            "results/faces/{gan}/inversion/{method}.h5",
            gan=CHAPTER_GAN,
            method=INVERSION_METHODS,
        ),
    output:
        figure=report(
            "results/thesis/figure_reconstructions.png",
            caption="../report/figure_reconstructions.rst",
            category="Faces",
            subcategory="Generated faces (Table 2.3)",
            labels={"result": "reconstructions", "format": "figure"},
        ),
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
        title=f"Reconstructions of generated {GAN_NAMES[CHAPTER_GAN]} test faces (PSNR per face)",
    script:
        "../scripts/figure_reconstructions.py"


rule figure_real_faces:
    """Grid: real probe face | GD | encoder | hybrid."""
    input:
        targets="results/faces/real/probes.h5",
        inversions=expand(
            "results/faces/real/inversion/{method}.h5", method=INVERSION_METHODS
        ),
    output:
        figure=report(
            "results/thesis/figure_real_faces.png",
            caption="../report/figure_real_faces.rst",
            category="Faces",
            subcategory="Real faces",
            labels={"result": "reconstructions", "format": "figure"},
        ),
    log:
        "results/logs/thesis/figure_real_faces.log",
    benchmark:
        "results/benchmarks/thesis/figure_real_faces.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=INVERSION_METHODS,
        n_faces=FACES["metrics"]["figure_faces"],
        title="Reconstructions of real faces never seen in training (PSNR per face)",
    script:
        "../scripts/figure_reconstructions.py"


rule figure_2_17:
    """Thesis Figure 2.17: another GAN's faces | encoder (trained on this GAN) | hybrid."""
    input:
        targets="results/faces/{face_set}/faces.h5",
        inversions=expand(
            "results/faces/{{face_set}}/inversion/{method}.h5",
            method=STYLEGAN2_METHODS,
        ),
    output:
        figure=report(
            "results/thesis/figure_2_17_{face_set}.png",
            caption="../report/figure_2_17.rst",
            category="Faces",
            subcategory="Another GAN's faces (Figure 2.17)",
            labels={"result": "Figure 2.17 ({face_set})", "format": "figure"},
        ),
    log:
        "results/logs/thesis/figure_2_17_{face_set}.log",
    benchmark:
        "results/benchmarks/thesis/figure_2_17_{face_set}.tsv"
    wildcard_constraints:
        face_set="|".join(GENERALISATION_SETS),
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=STYLEGAN2_METHODS,
        n_faces=FACES["metrics"]["figure_faces"],
        title=lambda wildcards: (
            f"Figure 2.17: {GAN_NAMES[GENERALISATION_SETS[wildcards.face_set][0]]} faces "
            "inverted with the "
            f"{GAN_NAMES[GENERALISATION_SETS[wildcards.face_set][1]]}-trained encoder"
        ),
    script:
        "../scripts/figure_reconstructions.py"


rule figure_psnr_iterations:
    """PSNR versus iterations: GD from a random start vs the hybrid from the encoder's start."""
    input:
        inversions=expand(
            "results/faces/{gan}/inversion/{method}.h5",
            gan=CHAPTER_GAN,
            method=INVERSION_METHODS,
        ),
        timing=f"results/faces/{CHAPTER_GAN}/timing.csv",
    output:
        figure=report(
            "results/thesis/figure_psnr_iterations.png",
            caption="../report/figure_psnr_iterations.rst",
            category="Faces",
            subcategory="Generated faces (Table 2.3)",
            labels={"result": "PSNR vs iterations and time", "format": "figure"},
        ),
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
            "results/faces/{gan}/encoder/{variant}_curve.csv",
            gan=CHAPTER_GAN,
            variant=ENCODER_VARIANTS,
        ),
    output:
        figure=report(
            "results/thesis/figure_encoder_training.png",
            caption="../report/figure_encoder_training.rst",
            category="Training",
            subcategory="Face encoder",
            labels={"result": "encoder variants", "format": "figure"},
        ),
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


# The same figures for each GAN of faces.inversion.more_generators, in results/thesis/<gan>/.


use rule figure_reconstructions as figure_reconstructions_more with:
    input:
        targets="results/faces/{fgan}/samples/test.h5",
        inversions=expand(
            "results/faces/{{fgan}}/inversion/{method}.h5", method=INVERSION_METHODS
        ),
    output:
        figure=report(
            "results/thesis/{fgan}/figure_reconstructions.png",
            caption="../report/figure_reconstructions.rst",
            category="Faces",
            subcategory="Generated faces (Table 2.3), {fgan}",
            labels={"result": "reconstructions ({fgan})", "format": "figure"},
        ),
    log:
        "results/logs/thesis/{fgan}/figure_reconstructions.log",
    benchmark:
        "results/benchmarks/thesis/{fgan}/figure_reconstructions.tsv"
    params:
        methods=INVERSION_METHODS,
        n_faces=FACES["metrics"]["figure_faces"],
        title=lambda wildcards: (
            f"Reconstructions of generated {GAN_NAMES[wildcards.fgan]} test faces "
            "(PSNR per face)"
        ),


use rule figure_psnr_iterations as figure_psnr_iterations_more with:
    input:
        inversions=expand(
            "results/faces/{{fgan}}/inversion/{method}.h5", method=INVERSION_METHODS
        ),
        timing="results/faces/{fgan}/timing.csv",
    output:
        figure=report(
            "results/thesis/{fgan}/figure_psnr_iterations.png",
            caption="../report/figure_psnr_iterations.rst",
            category="Faces",
            subcategory="Generated faces (Table 2.3), {fgan}",
            labels={
                "result": "PSNR vs iterations and time ({fgan})",
                "format": "figure",
            },
        ),
    log:
        "results/logs/thesis/{fgan}/figure_psnr_iterations.log",
    benchmark:
        "results/benchmarks/thesis/{fgan}/figure_psnr_iterations.tsv"


use rule figure_encoder_training as figure_encoder_training_more with:
    input:
        curves=expand(
            "results/faces/{{fgan}}/encoder/{variant}_curve.csv",
            variant=ENCODER_VARIANTS,
        ),
    output:
        figure=report(
            "results/thesis/{fgan}/figure_encoder_training.png",
            caption="../report/figure_encoder_training.rst",
            category="Training",
            subcategory="Face encoder ({fgan})",
            labels={"result": "encoder variants ({fgan})", "format": "figure"},
        ),
    log:
        "results/logs/thesis/{fgan}/figure_encoder_training.log",
    benchmark:
        "results/benchmarks/thesis/{fgan}/figure_encoder_training.tsv"


rule figure_3_1:
    """Thesis Figure 3.1: a 1-second 16 kHz clip of a held-out voice, waveform and spectrogram."""
    input:
        audio="results/audio/data/real_test.h5",
    output:
        figure=report(
            "results/thesis/figure_3_1.png",
            caption="../report/figure_3_1.rst",
            category="Audio",
            subcategory="Waveform (Figure 3.1)",
            labels={"result": "Figure 3.1", "format": "figure"},
        ),
    log:
        "results/logs/thesis/figure_3_1.log",
    benchmark:
        "results/benchmarks/thesis/figure_3_1.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        index=0,
    script:
        "../scripts/figure_3_1.py"


rule figure_audio_reconstructions:
    """Waveform and spectrogram of targets and each method's reconstructions."""
    input:
        targets=lambda wildcards: audio_targets(wildcards.target_set),
        inversions=lambda wildcards: expand(
            "results/audio/inversion/{target_set}/{method}.h5",
            target_set=wildcards.target_set,
            method=INVERSION_METHODS,
        ),
    output:
        figure=report(
            "results/thesis/figure_audio_{target_set}.png",
            caption="../report/figure_audio.rst",
            category="Audio",
            subcategory="Spoken digits ({target_set})",
            labels={"result": "reconstructions", "format": "figure"},
        ),
    log:
        "results/logs/thesis/figure_audio_{target_set}.log",
    benchmark:
        "results/benchmarks/thesis/figure_audio_{target_set}.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=INVERSION_METHODS,
        title=lambda wildcards: f"Audio reconstructions ({wildcards.target_set} clips)",
        n_clips=AUDIO["metrics"]["figure_clips"],
    script:
        "../scripts/figure_audio_reconstructions.py"


rule listen_audio:
    """WAV files to listen to: targets and each method's reconstructions, 0.25 s apart."""
    input:
        targets=lambda wildcards: audio_targets(wildcards.target_set),
        inversions=lambda wildcards: expand(
            "results/audio/inversion/{target_set}/{method}.h5",
            target_set=wildcards.target_set,
            method=INVERSION_METHODS,
        ),
    output:
        [
            report(
                f"results/thesis/audio/{{target_set}}_{name}.wav",
                caption="../report/listen_audio.rst",
                category="Audio",
                subcategory="Spoken digits ({target_set})",
                labels={"result": f"listening: {name}", "format": "audio"},
            )
            for name in ["targets", *INVERSION_METHODS]
        ],
    log:
        "results/logs/thesis/listen_{target_set}.log",
    benchmark:
        "results/benchmarks/thesis/listen_{target_set}.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        methods=INVERSION_METHODS,
        n_clips=AUDIO["metrics"]["listen_clips"],
    script:
        "../scripts/listen_audio.py"
