# ganinv: GAN inversion (gradient descent, ResNet-18 encoder, hybrid) for faces and audio.
# Run `snakemake --cores 2` for the embedded default; see README.md for presets and profiles.

import os

from snakemake.utils import min_version

min_version("9.0")


# The default config sits next to this Snakefile, so --directory elsewhere still finds it.
configfile: os.path.join(workflow.basedir, "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    split="|".join(FACE_SPLITS),
    sample_set="|".join(SAMPLE_SETS),
    role="|".join(FACE_ROLES),
    variant="|".join(ENCODER_VARIANTS),
    method="|".join(INVERSION_METHODS),
    experiment="inversion|ablation",
    face_set="|".join(FACE_SETS),
    gan="progan|stylegan2",
    fgan="|".join(FACE_GANS),
    audio_split="|".join(AUDIO_SPLITS),
    audio_set="|".join(AUDIO_SAMPLE_SETS),
    audio_role="|".join(AUDIO_ROLES),
    target_set="|".join(AUDIO_TARGET_SETS),
    timed="|".join(TIMED_FACE_SETS),


include: "workflow/rules/weights_helpers.smk"
include: "workflow/rules/weights.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/gans.smk"
include: "workflow/rules/encoders.smk"
include: "workflow/rules/inversion.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/figures.smk"


onstart:
    check_results_folder()


onerror:
    report_missing_weights()


rule all:
    default_target: True
    input:
        expand(
            "results/faces/data/{split}.h5",
            split=FACE_SPLITS if TRAINING_FACES == "procedural" else [],
        ),
        expand("results/faces/{fgan}/generator.pt", fgan=FACE_GANS),
        training_reports(),
        expand("results/thesis/table_generators.{ext}", ext=["csv", "md", "tex"]),
        expand("results/thesis/table_2_3.{ext}", ext=["csv", "md", "tex"]),
        expand("results/thesis/table_1_ablation.{ext}", ext=["csv", "md", "tex"]),
        "results/thesis/figure_reconstructions.png",
        "results/thesis/figure_psnr_iterations.png",
        "results/thesis/figure_encoder_training.png",
        expand(
            "results/thesis/{fgan}/{name}",
            fgan=MORE_CHAPTER_GANS,
            name=[
                *(
                    f"{table}.{ext}"
                    for table in ("table_2_3", "table_1_ablation")
                    for ext in ("csv", "md", "tex")
                ),
                "figure_reconstructions.png",
                "figure_psnr_iterations.png",
                "figure_encoder_training.png",
            ],
        ),
        expand("results/faces/{face_set}/faces_manifest.csv", face_set=FACE_SETS),
        expand(
            "results/thesis/{table}.{ext}",
            table=["table_real_faces", "table_2_17"],
            ext=["csv", "md", "tex"],
        ),
        "results/thesis/figure_real_faces.png",
        expand(
            "results/thesis/figure_2_17_{face_set}.png", face_set=GENERALISATION_SETS
        ),
        expand(
            "results/thesis/table_3_{target_set}.{ext}",
            target_set=AUDIO_TARGET_SETS,
            ext=["csv", "md", "tex"],
        ),
        "results/thesis/figure_3_1.png",
        expand("results/thesis/table_audio_generator.{ext}", ext=["csv", "md", "tex"]),
        expand(
            "results/thesis/figure_audio_{target_set}.png",
            target_set=AUDIO_TARGET_SETS,
        ),
        expand(
            "results/thesis/audio/{target_set}_{name}.wav",
            target_set=AUDIO_TARGET_SETS,
            name=["targets", *INVERSION_METHODS],
        ),
