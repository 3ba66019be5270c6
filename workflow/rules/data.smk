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
