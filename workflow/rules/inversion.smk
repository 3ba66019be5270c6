# Inversion of the 50 generated test faces (thesis Table 2.3), of the ablation's encoders and of
# the face sets (real faces, StyleGAN2 faces).


rule invert_faces:
    """Recover z for every test face of a face GAN with one method: gd, encoder or hybrid."""
    input:
        unpack(lambda wildcards: inversion_inputs(wildcards.fgan, wildcards.method)),
    output:
        h5="results/faces/{fgan}/inversion/{method}.h5",
    log:
        "results/logs/faces/invert_{fgan}_{method}.log",
    benchmark:
        "results/benchmarks/faces/invert_{fgan}_{method}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        method=lambda wildcards: wildcards.method,
        settings=lambda wildcards: inversion_settings(wildcards.fgan, wildcards.method),
        face_network_kind=lambda wildcards: perceptual_network(wildcards.fgan)[0],
        chunk_size=FACES["inversion"]["chunk_size"],
        seed=lambda wildcards: rule_seed(
            "faces", "invert", wildcards.fgan, wildcards.method
        ),
        device=config["device"],
    script:
        "../scripts/invert_faces.py"


use rule invert_faces as invert_faces_ablation with:
    input:
        generator="results/faces/{fgan}/generator.pt",
        targets="results/faces/{fgan}/samples/test.h5",
        encoder="results/faces/{fgan}/encoder/{variant}.pt",
    output:
        h5="results/faces/{fgan}/ablation/{variant}.h5",
    log:
        "results/logs/faces/ablation_{fgan}_{variant}.log",
    benchmark:
        "results/benchmarks/faces/ablation_{fgan}_{variant}.tsv"
    # Only what differs from invert_faces (Snakemake merges keyword params).
    params:
        method="encoder",
        settings={},
        seed=lambda wildcards: rule_seed(
            "faces", "ablation", wildcards.fgan, wildcards.variant
        ),


use rule invert_faces as invert_face_set with:
    input:
        unpack(face_set_inversion_inputs),
    output:
        h5="results/faces/{face_set}/inversion/{method}.h5",
    log:
        "results/logs/faces/invert_{face_set}_{method}.log",
    benchmark:
        "results/benchmarks/faces/invert_{face_set}_{method}.tsv"
    # Only what differs from invert_faces (Snakemake merges keyword params).
    params:
        method=lambda wildcards: wildcards.method,
        settings=lambda wildcards: inversion_settings(
            face_set_gan(wildcards.face_set), wildcards.method
        ),
        face_network_kind=lambda wildcards: perceptual_network(
            face_set_gan(wildcards.face_set)
        )[0],
        seed=lambda wildcards: rule_seed(
            "faces", "invert", wildcards.face_set, wildcards.method
        ),


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


# The tables' times: each target set's methods timed alone (see ganinv.timing). These jobs reserve
# every core (ALL_CORES), so no other job of the run shares the machine while they measure; torch
# still uses `threads` of them, as in the inversion jobs.


rule time_face_inversions:
    """Time the inversion methods of a face set alone, as its tables report them."""
    input:
        unpack(face_timing_inputs),
    output:
        csv="results/faces/{timed}/timing.csv",
    log:
        "results/logs/faces/timing_{timed}.log",
    benchmark:
        "results/benchmarks/faces/timing_{timed}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: ALL_CORES
    resources:
        gpu=1,
    params:
        methods=lambda wildcards: face_timing_methods(wildcards.timed),
        face_network_kind=lambda wildcards: perceptual_network(
            timed_face_gan(wildcards.timed)
        )[0],
        timing=config["timing"],
        torch_threads=config["threads"],
        chunk_size=FACES["inversion"]["chunk_size"],
        seed=lambda wildcards: rule_seed("faces", "timing", wildcards.timed),
        device=config["device"],
    script:
        "../scripts/time_face_inversions.py"


rule time_audio_inversions:
    """Time the audio inversion methods alone on one target set, as Table 3 reports them."""
    input:
        unpack(audio_timing_inputs),
    output:
        csv="results/audio/timing/{target_set}.csv",
    log:
        "results/logs/audio/timing_{target_set}.log",
    benchmark:
        "results/benchmarks/audio/timing_{target_set}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: ALL_CORES
    resources:
        gpu=1,
    params:
        methods=audio_timing_methods(),
        loss_weights=AUDIO["inversion"]["loss"],
        timing=config["timing"],
        torch_threads=config["threads"],
        chunk_size=AUDIO["inversion"]["chunk_size"],
        seed=lambda wildcards: rule_seed("audio", "timing", wildcards.target_set),
        device=config["device"],
    script:
        "../scripts/time_audio_inversions.py"
