# Inversion of the 50 generated test faces (thesis Table 2.3) and of the ablation's encoders.


rule invert_faces:
    """Recover z for every test face with one method: gd, encoder or hybrid."""
    input:
        unpack(lambda wildcards: inversion_inputs(wildcards.method)),
    output:
        h5="results/faces/inversion/{method}.h5",
    log:
        "results/logs/faces/invert_{method}.log",
    benchmark:
        "results/benchmarks/faces/invert_{method}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        method=lambda wildcards: wildcards.method,
        settings=lambda wildcards: FACES["inversion"].get(wildcards.method, {}),
        face_network_kind=FACES["facenet"]["perceptual"],
        chunk_size=FACES["inversion"]["chunk_size"],
        seed=lambda wildcards: rule_seed("faces", "invert", wildcards.method),
        device=config["device"],
    script:
        "../scripts/invert_faces.py"


rule invert_faces_ablation:
    """One forward pass of each encoder variant over the test faces (paper Table 1)."""
    input:
        generator="results/faces/progan/generator.pt",
        targets="results/faces/samples/test.h5",
        encoder="results/faces/encoder/{variant}.pt",
    output:
        h5="results/faces/ablation/{variant}.h5",
    log:
        "results/logs/faces/ablation_{variant}.log",
    benchmark:
        "results/benchmarks/faces/ablation_{variant}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        method="encoder",
        settings={},
        face_network_kind=FACES["facenet"]["perceptual"],
        chunk_size=FACES["inversion"]["chunk_size"],
        seed=lambda wildcards: rule_seed("faces", "ablation", wildcards.variant),
        device=config["device"],
    script:
        "../scripts/invert_faces.py"


rule invert_face_set:
    """Invert real probe faces or StyleGAN2 faces with the ProGAN generator (and its encoder)."""
    input:
        unpack(face_set_inversion_inputs),
    output:
        h5="results/faces/{face_set}/inversion/{method}.h5",
    log:
        "results/logs/faces/invert_{face_set}_{method}.log",
    benchmark:
        "results/benchmarks/faces/invert_{face_set}_{method}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        method=lambda wildcards: wildcards.method,
        settings=lambda wildcards: FACES["inversion"].get(wildcards.method, {}),
        face_network_kind=FACES["facenet"]["perceptual"],
        chunk_size=FACES["inversion"]["chunk_size"],
        seed=lambda wildcards: rule_seed(
            "faces", "invert", wildcards.face_set, wildcards.method
        ),
        device=config["device"],
    script:
        "../scripts/invert_faces.py"


rule invert_audio:
    """Recover z for every generated or real (held-out voice) clip with gd, encoder or hybrid."""
    input:
        unpack(audio_inversion_inputs),
    output:
        h5="results/audio/inversion/{target_set}/{method}.h5",
    log:
        "results/logs/audio/invert_{target_set}_{method}.log",
    benchmark:
        "results/benchmarks/audio/invert_{target_set}_{method}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        method=lambda wildcards: wildcards.method,
        settings=lambda wildcards: AUDIO["inversion"].get(wildcards.method, {}),
        loss_weights=AUDIO["inversion"]["loss"],
        chunk_size=AUDIO["inversion"]["chunk_size"],
        seed=lambda wildcards: rule_seed(
            "audio", "invert", wildcards.target_set, wildcards.method
        ),
        device=config["device"],
    script:
        "../scripts/invert_audio.py"
