"""Render one split of procedural face identities to HDF5 (plus a preview grid)."""

from __future__ import annotations

import logging
import os

from ganinv.data.faces import IDENTITY_ATTRIBUTES, render_split
from ganinv.data.h5io import base_provenance, write_h5
from ganinv.images import save_image_grid
from ganinv.progress import progress
from ganinv.runtime import params_hash

log = logging.getLogger("ganinv")


def render_face_split(
    out_h5: str | os.PathLike,
    out_grid: str | os.PathLike,
    split: str,
    first_identity: int,
    n_identities: int,
    images_per_identity: int,
    resolution: int,
    seed: int,
) -> None:
    """Render identities ``first_identity ..`` with ``images_per_identity`` variations each.

    Datasets: ``images`` uint8 [N, 3, H, W], ``identity`` int64 [N], ``attributes`` float32 [N, A]
    (column names in the ``attribute_names`` attribute).
    """
    params = {
        "split": split,
        "first_identity": first_identity,
        "n_identities": n_identities,
        "images_per_identity": images_per_identity,
        "resolution": resolution,
        "seed": seed,
    }
    total = n_identities * images_per_identity
    log.info(
        "rendering split '%s': %d identities x %d images at %d px",
        split,
        n_identities,
        images_per_identity,
        resolution,
    )
    bar = progress(total=total, desc=f"render {split}")

    def report(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    faces = render_split(
        first_identity, n_identities, images_per_identity, resolution, seed, progress=report
    )
    bar.close()
    attrs = base_provenance(
        kind="procedural-faces",
        config_hash=params_hash(params),
        attribute_names=list(faces.attribute_names),
        identity_attributes=list(IDENTITY_ATTRIBUTES),
        **params,
    )
    write_h5(
        out_h5,
        {"images": faces.images, "identity": faces.identity, "attributes": faces.attributes},
        attrs,
    )
    # Preview: one image of each of the first identities, then variations of the first identity.
    save_image_grid(faces.images[:64], out_grid, nrow=8)
    log.info("wrote %d images to %s", total, out_h5)
