# Networks trained on the generator's samples and on the procedural faces: face-recognition
# networks (perceptual loss, evaluator) and the ResNet-18 encoders of the ablation.


rule train_facenet:
    """A small ResNet face-recognition network (identity + attribute heads) on one split."""
    input:
        data=lambda wildcards: (
            "results/faces/data/train.h5"
            if wildcards.role == "perceptual"
            else "results/faces/data/evaluator.h5"
        ),
    output:
        model="results/faces/facenet/{role}.pt",
        curve="results/faces/facenet/{role}_curve.csv",
    log:
        "results/logs/faces/train_facenet_{role}.log",
    benchmark:
        "results/benchmarks/faces/train_facenet_{role}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        training=lambda wildcards: facenet_training_params(wildcards.role),
        work_dir=lambda wildcards: f"results/faces/facenet/work_{wildcards.role}",
        device=config["device"],
    script:
        "../scripts/train_facenet.py"


rule train_encoder:
    """The ResNet-18 inverse mapper of one face GAN, one variant of the ablation."""
    input:
        unpack(lambda wildcards: encoder_inputs(wildcards.fgan, wildcards.variant)),
    output:
        model="results/faces/{fgan}/encoder/{variant}.pt",
        curve="results/faces/{fgan}/encoder/{variant}_curve.csv",
    log:
        "results/logs/faces/train_encoder_{fgan}_{variant}.log",
    benchmark:
        "results/benchmarks/faces/train_encoder_{fgan}_{variant}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        training=lambda wildcards: encoder_training_params(
            wildcards.fgan, wildcards.variant
        ),
        perceptual_kind=lambda wildcards: perceptual_network(wildcards.fgan)[0],
        work_dir=lambda wildcards: f"results/faces/{wildcards.fgan}/encoder/work_{wildcards.variant}",
        device=config["device"],
    script:
        "../scripts/train_encoder.py"


if ABLATION_ONLY_VARIANTS:

    # Encoders only the ablation reads, temp(): removed once Table 1's jobs are done.
    use rule train_encoder as train_encoder_ablation with:
        output:
            model=temp("results/faces/{fgan}/encoder/{variant}.pt"),
            curve="results/faces/{fgan}/encoder/{variant}_curve.csv",
        wildcard_constraints:
            variant="|".join(ABLATION_ONLY_VARIANTS),

    ruleorder: train_encoder_ablation > train_encoder


rule train_digit_classifier:
    """Spoken-digit classifier on the STFT (perceptual loss; separately seeded evaluator)."""
    input:
        data="results/audio/data/train.h5",
    output:
        model="results/audio/classifier/{audio_role}.pt",
        curve="results/audio/classifier/{audio_role}_curve.csv",
    log:
        "results/logs/audio/train_classifier_{audio_role}.log",
    benchmark:
        "results/benchmarks/audio/train_classifier_{audio_role}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    # Small networks: one thread each, so that two such jobs share 2 cores.
    threads: 1
    resources:
        gpu=1,
    params:
        training=lambda wildcards: classifier_training_params(wildcards.audio_role),
        work_dir=lambda wildcards: f"results/audio/classifier/work_{wildcards.audio_role}",
        device=config["device"],
    script:
        "../scripts/train_digit_classifier.py"


rule train_audio_encoder:
    """ResNet-18 on the STFT: generated phase (z MSE + perceptual) alternating with real voices."""
    input:
        generator="results/audio/wavegan/generator.pt",
        generated="results/audio/samples/encoder_train.h5",
        real="results/audio/data/real_train.h5",
        perceptual_network="results/audio/classifier/perceptual.pt",
    output:
        model="results/audio/encoder/encoder.pt",
        curve="results/audio/encoder/encoder_curve.csv",
    log:
        "results/logs/audio/train_encoder.log",
    benchmark:
        "results/benchmarks/audio/train_encoder.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        training=audio_encoder_params(),
        perceptual_kind="digits",
        work_dir="results/audio/encoder/work",
        device=config["device"],
    script:
        "../scripts/train_encoder.py"
