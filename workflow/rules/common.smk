# Shared helpers (config validation, seeds, split parameters) for every .smk file.
# Scripts never read config[...]: everything reaches them through params.

import os
import sys

from ganinv.config import ConfigError, validate_config
from ganinv.runtime import derive_seed

try:
    validate_config(
        config,
        os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml"),
    )
except ConfigError as exc:
    sys.exit(f"ganinv: {exc}")


FACES = config["faces"]
FACE_SPLITS = list(FACES["splits"])
SAMPLE_SETS = list(FACES["samples"]["sets"])
N_STAGES = len(FACES["progan"]["channels"])


def rule_seed(*names):
    """The seed of one job (or wildcard instance), derived from the global seed."""
    return derive_seed(config["seed"], *names)


def face_split_params(split):
    """Identity range and sizes of one procedural face split (ids are consecutive, train first)."""
    first = 0
    for name in FACE_SPLITS:
        if name == split:
            break
        first += FACES["splits"][name]["identities"]
    return {
        "first_identity": first,
        "n_identities": FACES["splits"][split]["identities"],
        "images_per_identity": FACES["splits"][split]["images_per_identity"],
        "resolution": FACES["resolution"],
        # Identities share one seed across splits: identity k looks the same in every split.
        "seed": rule_seed("faces", "render"),
    }
