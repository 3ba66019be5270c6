import copy
import os

import pytest
import yaml

from ganinv.config import ConfigError, validate_config
from tests.helpers.paths import REPO

SCHEMA = os.path.join(REPO, "workflow", "schemas", "config.schema.yaml")


def load(name):
    with open(os.path.join(REPO, name)) as handle:
        return yaml.safe_load(handle)


def merged(base, override):
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def test_default_and_presets_are_valid():
    default = load("config.yaml")
    validate_config(default, SCHEMA)
    validate_config(merged(default, load("presets/smoke.yaml")), SCHEMA)
    validate_config(merged(default, load("presets/paper.yaml")), SCHEMA)


def test_every_config_key_is_commented():
    """config.yaml documents every key: each key line has a comment line above it (or a group's)."""
    lines = open(os.path.join(REPO, "config.yaml")).read().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or ":" not in stripped:
            continue
        previous = lines[i - 1].strip() if i else ""
        sibling_documented = previous.endswith(":") is False and ":" in previous
        if not previous.startswith("#") and not sibling_documented:
            undocumented.append(stripped)
    assert not undocumented, undocumented


@pytest.mark.parametrize(
    "override, message",
    [
        ({"sead": 1}, r"sead: unknown key"),
        ({"pretrained": {"progan": "pgan_celba"}}, r"pretrained\.progan: 'pgan_celba' is neither"),
        (
            {"pretrained": {"progan": "stylegan2_ffhq"}},
            r"pretrained\.progan: 'stylegan2_ffhq' is not a progan checkpoint",
        ),
        ({"pretrained": {"allow_pickle": "yes"}}, r"pretrained\.allow_pickle: 'yes' is not"),
        ({"faces": {"metrics": {"fid_network": "clip"}}}, r"fid_network: 'clip' is not one of"),
        ({"faces": {"progan": {"lrr": 0.1}}}, r"faces\.progan\.lrr: unknown key"),
        ({"faces": {"resolution": 48}}, r"faces\.resolution: 48 is not one of"),
        ({"faces": {"progan": {"lr": -1}}}, r"faces\.progan\.lr: -1 is less than or equal"),
        ({"faces": {"progan": {"batch_size": "big"}}}, r"faces\.progan\.batch_size: 'big' is not"),
        ({"device": "tpu"}, r"device: 'tpu' does not match"),
        (
            {"faces": {"samples": {"sets": {"test": {"n": 5, "prior": "cauchy"}}}}},
            r"faces\.samples\.sets\.test\.prior: 'cauchy' is not one of",
        ),
        ({"faces": {"progan": {"channels": [8, 8, 8]}}}, r"faces\.progan\.channels: 3 widths"),
        ({"faces": {"progan": {"stage_steps": [1, 2]}}}, r"faces\.progan\.stage_steps: 2 entries"),
        ({"audio": {"data": {"source": "sc09"}}}, r"audio\.data\.source: 'sc09' is not one of"),
        (
            {"audio": {"data": {"source": "folder"}}},
            r"audio\.data\.folders\.train: the folder source needs a folder",
        ),
        (
            {"audio": {"data": {"folders": {"train": "/data/sc09/train"}}}},
            r"audio\.data\.folders: folders are given but audio\.data\.source is espeak",
        ),
        (
            {"audio": {"inversion": {"gd": {"optimizer": "sgd"}}}},
            r"audio\.inversion\.gd\.optimizer: 'sgd' is not one of",
        ),
        ({"audio": {"classifier": {"representation": "mfcc"}}}, r"representation: 'mfcc'"),
        (
            {"audio": {"samples": {"sets": {"encoder_train": {"n": 50, "prior": "uniform"}}}}},
            r"audio\.samples\.sets\.encoder_train\.n: 50 clips",
        ),
        ({"audio": {"wavegan": {"d": 0}}}, r"audio\.wavegan\.d: 0 is less than the minimum"),
        (
            {"faces": {"real_faces": {"source": "folder"}}},
            r"faces\.real_faces\.folder: source is folder but no folder is given",
        ),
        (
            {"faces": {"real_faces": {"folder": "/data/vggface2"}}},
            r"faces\.real_faces\.folder: a folder is given but source is procedural",
        ),
        (
            {"faces": {"real_faces": {"gallery_per_identity": 10}}},
            r"faces\.real_faces\.gallery_per_identity: 10 gallery images leave no probe",
        ),
        ({"faces": {"real_faces": {"evaluator": "arcface"}}}, r"evaluator: 'arcface' is not one"),
        ({"faces": {"stylegan2": {"channels": [8, 8]}}}, r"faces\.stylegan2\.channels: 2 widths"),
        ({"faces": {"alignment": {"choose": "first"}}}, r"alignment\.choose: 'first' is not one"),
        ({"faces": {"generalisation": {"align": "yes"}}}, r"align: 'yes' is not of type 'boolean'"),
    ],
)
def test_bad_values_name_the_key(override, message):
    config = merged(load("config.yaml"), override)
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def test_all_problems_reported_at_once():
    config = merged(load("config.yaml"), {"sead": 1, "faces": {"progan": {"lr": 0}}})
    with pytest.raises(ConfigError, match=r"2 problem") as info:
        validate_config(config, SCHEMA)
    assert "sead" in str(info.value) and "faces.progan.lr" in str(info.value)
