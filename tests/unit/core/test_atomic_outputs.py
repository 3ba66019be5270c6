"""A writer killed with SIGKILL leaves nothing under its output's final name.

Each output kind (HDF5, model file, table, figure, image grid, WAV, training checkpoint) is written
by the library's own writer in a child process that is SIGKILLed either in the middle of writing
(streamed HDF5) or with the whole file written but not yet renamed into place (``os.replace`` is
made to hang there) - the last moment before the output would exist.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ganinv.atomic import write_text_atomic
from ganinv.runtime import UserError
from tests.helpers.unwritable import unwritable

# Each writer gets ``out`` (the final path) and ``folder``; it must write ``out`` atomically.
WRITERS = {
    "hdf5": ("samples.h5", """
        from ganinv.data.h5io import write_h5
        write_h5(out, {"z": np.ones((1000, 64), np.float32)}, {"prior": "normal"})
    """),
    "model": ("generator.pt", """
        from ganinv.models.files import save_model
        from ganinv.models.progan import Generator
        kwargs = {"resolution": 8, "z_dim": 16, "channels": [16, 16]}
        save_model(out, Generator(**kwargs), "progan.Generator", kwargs)
    """),
    "table": ("table.csv", """
        import pandas as pd
        from ganinv.tables import write_table
        frame = pd.DataFrame({"method": ["gd", "encoder"], "psnr_db": [20.5, 17.1]})
        write_table(frame, csv_path=out, md_path=folder / "table.md",
                    tex_path=folder / "table.tex", title="Table")
    """),
    "figure": ("figure.png", """
        from ganinv.plots import pyplot, save_figure
        fig, ax = pyplot().subplots()
        ax.plot([0, 1], [1, 0])
        save_figure(fig, out)
    """),
    "image grid": ("grid.png", """
        from ganinv.images import save_image_grid
        save_image_grid(np.zeros((4, 3, 8, 8), np.uint8), out, nrow=2)
    """),
    "wav": ("clip.wav", """
        from ganinv.data.wav import write_wav
        write_wav(out, np.zeros((1, 16384), np.float32), 16000)
    """),
    "checkpoint": ("checkpoint.pt", """
        import torch
        from ganinv.train.checkpoint import save_checkpoint
        save_checkpoint(out, "0" * 64, 10, {"weights": torch.ones(1000)})
    """),
}  # fmt: skip

HANG_AT_RENAME = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import numpy as np

    def hang(source, destination):  # the output is fully written under its temporary name
        print("RENAMING", source, flush=True)
        time.sleep(600)

    os.replace = hang
    out, folder = Path(sys.argv[1]), Path(sys.argv[2])
    """
)


def _start(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("kind", list(WRITERS))
def test_writer_killed_before_rename_leaves_no_output(tmp_path, kind):
    name, body = WRITERS[kind]
    out = tmp_path / name
    process = _start(HANG_AT_RENAME + textwrap.dedent(body), str(out), str(tmp_path))
    line = process.stdout.readline()  # blocks until the writer reaches the rename
    assert line.startswith("RENAMING"), process.stderr.read()
    temporary = Path(line.split()[1])
    assert temporary.parent == tmp_path and temporary.name.startswith(".tmp-")
    assert temporary.stat().st_size > 0  # written in full, under the temporary name
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not out.exists(), f"{kind}: a killed writer left {out.name} under its final name"
    # Only temporary files remain (hidden; a rerun writes new ones and replaces the output).
    assert all(left.startswith(".tmp-") for left in _leftovers(tmp_path)), _leftovers(tmp_path)


STREAMING = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from ganinv.data.h5io import H5Writer

    with H5Writer(sys.argv[1], {"prior": "normal"}) as writer:
        writer.create("images", (4096, 3, 64, 64), np.uint8)
        for start in range(0, 4096, 256):  # a sampling job writing batch after batch
            writer.write("images", start, np.full((256, 3, 64, 64), 7, np.uint8))
            writer._file.flush()
            print("BATCH", start, flush=True)
            time.sleep(0.2)
    """
)


def test_streamed_hdf5_killed_mid_write_leaves_no_output(tmp_path):
    out = tmp_path / "samples.h5"
    process = _start(STREAMING, str(out))
    for _ in range(3):  # three batches written, thirteen to go
        assert process.stdout.readline().startswith("BATCH"), process.stderr.read()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    time.sleep(0.1)
    assert not out.exists()
    (temporary,) = [tmp_path / name for name in _leftovers(tmp_path)]
    assert temporary.name.startswith(".tmp-samples-") and temporary.stat().st_size > 0


def test_unwritable_output_folder_is_a_user_error(tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    with unwritable(folder), pytest.raises(UserError, match="cannot write .*table.md: .*thesis"):
        write_text_atomic(folder / "table.md", "| a |")
    assert list(folder.iterdir()) == []
