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
    """The ResNet-18 inverse mapper, one variant of the ablation."""
    input:
        unpack(lambda wildcards: encoder_inputs(wildcards.variant)),
    output:
        model="results/faces/encoder/{variant}.pt",
        curve="results/faces/encoder/{variant}_curve.csv",
    log:
        "results/logs/faces/train_encoder_{variant}.log",
    benchmark:
        "results/benchmarks/faces/train_encoder_{variant}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        training=lambda wildcards: encoder_training_params(wildcards.variant),
        perceptual_kind=FACES["facenet"]["perceptual"],
        work_dir=lambda wildcards: f"results/faces/encoder/work_{wildcards.variant}",
        device=config["device"],
    script:
        "../scripts/train_encoder.py"
