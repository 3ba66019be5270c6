# GANs trained inside the DAG and samples drawn from them.


if "progan" not in IMPORTED:

    rule train_progan:
        """Progressive-growing WGAN-GP training of ProGAN on the training faces."""
        input:
            data=training_faces(),
        output:
            generator="results/faces/progan/generator.pt",
            loss="results/faces/progan/loss.csv",
            quality="results/faces/progan/quality.csv",
            grids=expand(
                "results/faces/progan/grid_stage{stage}.png", stage=range(N_STAGES)
            ),
        log:
            "results/logs/faces/train_progan.log",
        benchmark:
            "results/benchmarks/faces/train_progan.tsv"
        conda:
            "../../envs/ganinv.yaml"
        threads: config["threads"]
        resources:
            gpu=1,
        params:
            training=lambda wildcards: {
                **FACES["progan"],
                "resolution": FACES["resolution"],
                "seed": rule_seed("faces", "train_progan"),
            },
            # Checkpoints and running curves live here; a rerun resumes from them.
            work_dir="results/faces/progan/work",
            device=config["device"],
        script:
            "../scripts/train_progan.py"


rule plot_gan_training:
    """Loss and sliced-Wasserstein curves of a face GAN's training (ProGAN or StyleGAN2)."""
    input:
        loss="results/faces/{gan}/loss.csv",
        quality="results/faces/{gan}/quality.csv",
    output:
        figure=report(
            "results/faces/{gan}/training_curves.png",
            caption="../report/gan_training.rst",
            category="Training",
            subcategory="Face GANs",
            labels={"result": "{gan}", "format": "figure"},
        ),
    log:
        "results/logs/faces/plot_{gan}_training.log",
    benchmark:
        "results/benchmarks/faces/plot_{gan}_training.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        name=lambda wildcards: {"progan": "ProGAN", "stylegan2": "StyleGAN2"}[
            wildcards.gan
        ],
        loss_label=lambda wildcards: {
            "progan": "WGAN-GP loss",
            "stylegan2": "logistic loss (non-saturating)",
        }[wildcards.gan],
    script:
        "../scripts/plot_gan_training.py"


rule sample_face_gan:
    """Draw latents from the prior and write z with a face GAN's faces to HDF5."""
    input:
        generator="results/faces/{fgan}/generator.pt",
    output:
        h5="results/faces/{fgan}/samples/{sample_set}.h5",
    log:
        "results/logs/faces/sample_{fgan}_{sample_set}.log",
    benchmark:
        "results/benchmarks/faces/sample_{fgan}_{sample_set}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        n=lambda wildcards: FACES["samples"]["sets"][wildcards.sample_set]["n"],
        prior=lambda wildcards: FACES["samples"]["sets"][wildcards.sample_set]["prior"],
        seed=lambda wildcards: rule_seed(
            "faces", "sample", wildcards.fgan, wildcards.sample_set
        ),
        batch_size=FACES["samples"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/sample_generator.py"


# The encoders' training sets, temp(): removed once every job that reads them is done.
use rule sample_face_gan as sample_face_gan_training with:
    output:
        h5=temp("results/faces/{fgan}/samples/{sample_set}.h5"),
    wildcard_constraints:
        sample_set="|".join(TRAINING_SAMPLE_SETS),


ruleorder: sample_face_gan_training > sample_face_gan


if "stylegan2" not in IMPORTED:

    rule train_stylegan2:
        """StyleGAN2 (non-saturating loss, lazy R1) on the training faces: Figure 2.17's other GAN."""
        input:
            data=training_faces(),
        output:
            generator="results/faces/stylegan2/generator.pt",
            loss="results/faces/stylegan2/loss.csv",
            quality="results/faces/stylegan2/quality.csv",
            grid="results/faces/stylegan2/grid.png",
        log:
            "results/logs/faces/train_stylegan2.log",
        benchmark:
            "results/benchmarks/faces/train_stylegan2.tsv"
        conda:
            "../../envs/ganinv.yaml"
        threads: config["threads"]
        resources:
            gpu=1,
        params:
            training={
                **FACES["stylegan2"],
                "resolution": FACES["resolution"],
                "seed": rule_seed("faces", "train_stylegan2"),
            },
            work_dir="results/faces/stylegan2/work",
            device=config["device"],
        script:
            "../scripts/train_stylegan2.py"


rule sample_stylegan2:
    """The StyleGAN2 faces of Figure 2.17 (z ~ N(0, 1)), with their z, to HDF5."""
    input:
        generator="results/faces/stylegan2/generator.pt",
    output:
        h5=generalisation_samples("stylegan2"),
    log:
        "results/logs/faces/sample_stylegan2.log",
    benchmark:
        "results/benchmarks/faces/sample_stylegan2.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: 1
    params:
        n=GENERALISATION["n"],
        prior="normal",
        seed=rule_seed("faces", "sample", "stylegan2"),
        batch_size=FACES["samples"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/sample_generator.py"


use rule sample_stylegan2 as sample_generalisation with:
    input:
        generator="results/faces/{fgan}/generator.pt",
    output:
        h5=generalisation_samples("{fgan}"),
    log:
        "results/logs/faces/sample_{fgan}_generalisation.log",
    benchmark:
        "results/benchmarks/faces/sample_{fgan}_generalisation.tsv"
    params:
        n=GENERALISATION["n"],
        prior="normal",
        seed=lambda wildcards: rule_seed(
            "faces", "sample", wildcards.fgan, "generalisation"
        ),
        batch_size=FACES["samples"]["batch_size"],
        device=config["device"],


if "wavegan" not in IMPORTED:

    rule train_wavegan:
        """WaveGAN (WGAN-GP, phase shuffle) on the training voices, its quality curve measured by
        the evaluator classifier; samples.wav to listen to."""
        input:
            data="results/audio/data/train.h5",
            evaluator="results/audio/classifier/evaluator.pt",
        output:
            model="results/audio/wavegan/generator.pt",
            curve="results/audio/wavegan/loss.csv",
            quality="results/audio/wavegan/quality.csv",
            samples="results/audio/wavegan/samples.wav",
        log:
            "results/logs/audio/train_wavegan.log",
        benchmark:
            "results/benchmarks/audio/train_wavegan.tsv"
        conda:
            "../../envs/ganinv.yaml"
        threads: config["threads"]
        resources:
            gpu=1,
        params:
            training={**AUDIO["wavegan"], "seed": rule_seed("audio", "wavegan")},
            work_dir="results/audio/wavegan/work",
            floors=AUDIO["judge"]["floors"],
            is_splits=AUDIO["metrics"]["is_splits"],
            device=config["device"],
        script:
            "../scripts/train_wavegan.py"

    rule figure_wavegan_quality:
        """The trained WaveGAN's quality curve: Inception Score, digits read, diversity."""
        input:
            curve="results/audio/wavegan/quality.csv",
        output:
            png=report(
                "results/thesis/figure_wavegan_quality.png",
                caption="../report/figure_wavegan_quality.rst",
                category="Audio",
                subcategory="Generator",
                labels={"result": "WaveGAN quality curve", "format": "figure"},
            ),
        log:
            "results/logs/thesis/figure_wavegan_quality.log",
        benchmark:
            "results/benchmarks/thesis/figure_wavegan_quality.tsv"
        localrule: True
        conda:
            "../../envs/ganinv.yaml"
        params:
            floors=AUDIO["judge"]["floors"],
        script:
            "../scripts/figure_wavegan_quality.py"


rule sample_wavegan:
    """Draw z ~ U[-1, 1] and write z with the generated clips to HDF5."""
    input:
        generator="results/audio/wavegan/generator.pt",
    output:
        h5="results/audio/samples/{audio_set}.h5",
    log:
        "results/logs/audio/sample_{audio_set}.log",
    benchmark:
        "results/benchmarks/audio/sample_{audio_set}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        n=lambda wildcards: AUDIO["samples"]["sets"][wildcards.audio_set]["n"],
        prior=lambda wildcards: AUDIO["samples"]["sets"][wildcards.audio_set]["prior"],
        seed=lambda wildcards: rule_seed("audio", "sample", wildcards.audio_set),
        batch_size=AUDIO["samples"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/sample_generator.py"


# The audio encoder's training clips, temp(): removed once the encoder and the judge are done.
use rule sample_wavegan as sample_wavegan_training with:
    output:
        h5=temp("results/audio/samples/{audio_set}.h5"),
    wildcard_constraints:
        audio_set="encoder_train",


ruleorder: sample_wavegan_training > sample_wavegan


rule import_generator:
    """A public checkpoint (pretrained.<gan>) converted to our model file instead of training."""
    input:
        checkpoint=lambda wildcards: IMPORTED[wildcards.imported],
    output:
        generator="results/{domain}/{imported}/generator.pt",
    log:
        "results/logs/{domain}/import_{imported}.log",
    benchmark:
        "results/benchmarks/{domain}/import_{imported}.tsv"
    wildcard_constraints:
        domain="faces|audio",
        imported="|".join(IMPORTED) or "(?!)",
    conda:
        "../../envs/ganinv.yaml"
    params:
        checkpoint_format=lambda wildcards: IMPORT_FORMATS[wildcards.imported],
        allow_pickle=PRETRAINED["allow_pickle"],
        # Settings the rest of the DAG relies on (e.g. the ProGAN's image size).
        expected=lambda wildcards: (
            {"resolution": FACES["resolution"]}
            if wildcards.imported == "progan"
            else {}
        ),
    script:
        "../scripts/import_generator.py"


rule judge_face_gan:
    """A face GAN's quality, diversity and collapse, measured before its faces are inverted."""
    input:
        unpack(lambda wildcards: judge_inputs(wildcards.fgan)),
    output:
        csv="results/faces/{fgan}/judgement.csv",
    log:
        "results/logs/faces/judge_{fgan}.log",
    benchmark:
        "results/benchmarks/faces/judge_{fgan}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: 1
    params:
        generator=lambda wildcards: generator_description(wildcards.fgan),
        fid_network=fid_network()[0],
        evaluator_kind=lambda wildcards: chapter_evaluator(wildcards.fgan)[0],
        reference=lambda wildcards: (judge_reference(wildcards.fgan) or [None])[0],
        n=FACES["judge"]["n"],
        seed=lambda wildcards: rule_seed("faces", "judge", wildcards.fgan),
        min_diversity_ratio=FACES["judge"]["min_diversity_ratio"],
        max_same_identity=FACES["judge"]["max_same_identity"],
        device=config["device"],
    script:
        "../scripts/judge_face_gan.py"


rule table_generators:
    """The face GANs of this run, judged (quality, diversity, collapse)."""
    input:
        judgements=expand("results/faces/{fgan}/judgement.csv", fgan=FACE_GANS),
    output:
        csv="results/thesis/table_generators.csv",
        md=report(
            "results/thesis/table_generators.md",
            caption="../report/table_generators.rst",
            category="Faces",
            subcategory="Generators",
            labels={"result": "face GANs judged", "format": "table"},
        ),
        tex="results/thesis/table_generators.tex",
    log:
        "results/logs/thesis/table_generators.log",
    benchmark:
        "results/benchmarks/thesis/table_generators.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        preset=PRESET_LABEL,
    script:
        "../scripts/table_generators.py"


rule judge_audio_gan:
    """The audio GAN's Inception Score, digit coverage and diversity before it is inverted."""
    input:
        samples="results/audio/samples/encoder_train.h5",
        real="results/audio/data/train.h5",
        evaluator="results/audio/classifier/evaluator.pt",
    output:
        csv="results/audio/wavegan/judgement.csv",
    log:
        "results/logs/audio/judge_wavegan.log",
    benchmark:
        "results/benchmarks/audio/judge_wavegan.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: 1
    params:
        generator=audio_generator_description(),
        evaluator=audio_evaluator_description(),
        n=AUDIO["judge"]["n"],
        seed=rule_seed("audio", "judge"),
        is_splits=AUDIO["metrics"]["is_splits"],
        floors=AUDIO["judge"]["floors"],
        device=config["device"],
    script:
        "../scripts/judge_audio_gan.py"


rule table_audio_generator:
    """The audio GAN of this run, judged (quality, digit coverage, diversity, collapse)."""
    input:
        judgement="results/audio/wavegan/judgement.csv",
    output:
        csv="results/thesis/table_audio_generator.csv",
        md=report(
            "results/thesis/table_audio_generator.md",
            caption="../report/table_audio_generator.rst",
            category="Audio",
            subcategory="Generator",
            labels={"result": "audio GAN judged", "format": "table"},
        ),
        tex="results/thesis/table_audio_generator.tex",
    log:
        "results/logs/thesis/table_audio_generator.log",
    benchmark:
        "results/benchmarks/thesis/table_audio_generator.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        preset=PRESET_LABEL,
        floors=AUDIO["judge"]["floors"],
    script:
        "../scripts/table_audio_generator.py"
