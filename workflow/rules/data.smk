# Data the networks train on: procedural faces, photos (CelebA, LFW) and spoken digits (espeak-ng,
# a WAV folder or FSDD).


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


rule fetch_photo_dataset:
    """Check a local copy of a photo dataset (CelebA, LFW) or download it; list every file."""
    output:
        verified="results/datasets/{dataset}/verified.json",
        manifest="results/datasets/{dataset}/files.csv",
    log:
        "results/logs/datasets/fetch_{dataset}.log",
    benchmark:
        "results/benchmarks/datasets/fetch_{dataset}.tsv"
    wildcard_constraints:
        dataset="celeba|lfw",
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        name=lambda wildcards: wildcards.dataset,
        folder=lambda wildcards: photo_dataset(wildcards.dataset)[0],
        download_dir=lambda wildcards: photo_dataset(wildcards.dataset)[1],
    script:
        "../scripts/fetch_photo_dataset.py"


rule align_faces:
    """Faces at the generator's resolution with a manifest: MTCNN for photos, else pass-through."""
    input:
        unpack(face_set_inputs),
    output:
        h5="results/faces/{face_set}/faces.h5",
        manifest="results/faces/{face_set}/faces_manifest.csv",
    log:
        "results/logs/faces/align_{face_set}.log",
    benchmark:
        "results/benchmarks/faces/align_{face_set}.tsv"
    conda:
        "../../envs/ganinv.yaml"
    threads: 1
    params:
        source=lambda wildcards: face_set_source(wildcards.face_set),
        align=lambda wildcards: face_set_align(wildcards.face_set),
        identities=lambda wildcards: wildcards.face_set == "real",
        # [start, stop) of the sorted photos (CelebA's GAN and encoder photos), or None.
        select=lambda wildcards: face_set_slice(wildcards.face_set),
        # Another GAN's faces (Figure 2.17): those MTCNN finds no face in are kept as drawn.
        keep_undetected=lambda wildcards: wildcards.face_set in GENERALISATION_SETS,
        size=FACES["resolution"],
        alignment=FACES["alignment"],
        device=config["device"],
    script:
        "../scripts/prepare_faces.py"


rule split_gallery_probes:
    """Real faces per identity: the first images to the gallery, the next to the probes."""
    input:
        faces="results/faces/real/faces.h5",
    output:
        gallery="results/faces/real/gallery.h5",
        probes="results/faces/real/probes.h5",
    log:
        "results/logs/faces/split_gallery_probes.log",
    benchmark:
        "results/benchmarks/faces/split_gallery_probes.tsv"
    localrule: True
    conda:
        "../../envs/ganinv.yaml"
    params:
        gallery_per_identity=REAL_FACES["gallery_per_identity"],
        probes_per_identity=REAL_FACES["probes_per_identity"],
        max_identities=REAL_FACES["max_identities"],
    script:
        "../scripts/split_gallery_probes.py"


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

elif AUDIO["data"]["source"] == "folder":

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

else:
    FSDD = AUDIO["data"]["fsdd"]

    rule fetch_fsdd:
        """Check a local copy of the Free Spoken Digit Dataset (FSDD) or download it."""
        output:
            verified="results/audio/fsdd/verified.json",
        log:
            "results/logs/audio/fetch_fsdd.log",
        localrule: True
        conda:
            "../../envs/ganinv.yaml"
        params:
            folder=FSDD["folder"],
            download_dir=FSDD["download_dir"] or "results/audio/fsdd/download",
            url=FSDD["url"],
        script:
            "../scripts/fetch_fsdd.py"

    rule read_fsdd_split:
        """One split of FSDD by speaker, resampled from 8 to 16 kHz (16384 samples) to HDF5."""
        input:
            verified="results/audio/fsdd/verified.json",
        output:
            h5="results/audio/data/{audio_split}.h5",
        log:
            "results/logs/audio/read_fsdd_{audio_split}.log",
        benchmark:
            "results/benchmarks/audio/read_fsdd_{audio_split}.tsv"
        conda:
            "../../envs/ganinv.yaml"
        params:
            # Held-out speakers, the split's take range (train: every take) and its cap.
            read=lambda wildcards: {
                "split": wildcards.audio_split,
                "heldout_speakers": FSDD["heldout_speakers"],
                "takes": FSDD["takes"].get(wildcards.audio_split),
                "clips_per_digit": FSDD["clips_per_digit"][wildcards.audio_split],
                "peak": AUDIO["data"]["peak"],
            },
        script:
            "../scripts/read_fsdd_split.py"
