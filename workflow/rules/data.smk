# Data the networks train on: procedural faces (and, later, espeak-ng spoken digits).


rule render_faces:
    """Render one split of procedural face identities to HDF5, with a preview grid."""
    output:
        h5="results/faces/data/{split}.h5",
        grid="results/faces/data/{split}_preview.png",
    log:
        "results/logs/faces/render_{split}.log",
    benchmark:
        "results/benchmarks/faces/render_{split}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: 1
    params:
        render=lambda wildcards: face_split_params(wildcards.split),
    script:
        "../scripts/render_faces.py"


if AUDIO["data"]["source"] == "espeak":

    rule render_speech:
        """Render one split of spoken digits with espeak-ng (voices, pitch, speed) to HDF5."""
        output:
            h5="results/audio/data/{audio_split}.h5",
        log:
            "results/logs/audio/render_{audio_split}.log",
        benchmark:
            "results/benchmarks/audio/render_{audio_split}.tsv"
        conda:
            "../../envs/ganinv.yaml"
        threads: config["threads"]
        params:
            render=lambda wildcards: speech_split_params(wildcards.audio_split),
        script:
            "../scripts/render_speech.py"

else:

    rule read_speech_folder:
        """Read a folder of WAV files laid out like SC09 (resampled, padded/cropped) to HDF5."""
        output:
            h5="results/audio/data/{audio_split}.h5",
        log:
            "results/logs/audio/read_{audio_split}.log",
        benchmark:
            "results/benchmarks/audio/read_{audio_split}.tsv"
        conda:
            "../../envs/ganinv.yaml"
        params:
            folder=lambda wildcards: AUDIO["data"]["folders"][wildcards.audio_split],
            read={
                "sample_rate": 16000,
                "clip_samples": 16384,
                "peak": AUDIO["data"]["peak"],
            },
        script:
            "../scripts/read_speech_folder.py"
