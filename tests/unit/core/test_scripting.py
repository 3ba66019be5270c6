"""The workflow scripts' glue: a finished job exits at once with its outputs and log complete."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging
    import sys
    from types import SimpleNamespace

    from ganinv.runtime import UserError
    from ganinv.scripting import run

    out, log, mode = sys.argv[1:4]
    smk = SimpleNamespace(log=[log], rule="demo", threads=1)


    def main(_):
        if mode == "user-error":
            raise UserError("faces.resolution must be a power of two; got 48")
        if mode == "bug":
            raise KeyError("missing")
        with open(out, "w") as handle:
            handle.write("x" * 100_000)
        logging.getLogger("ganinv").info("wrote %s", out)
        print("done on stdout")


    run(smk, main)
    print("never printed: run() ends the process")
    """
)


def _run(tmp_path, mode):
    out, log = tmp_path / "out.txt", tmp_path / "job.log"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out), str(log), mode],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return result, out, log


def test_finished_job_exits_zero_with_output_log_and_stdout_flushed(tmp_path):
    result, out, log = _run(tmp_path, "ok")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "x" * 100_000
    assert "wrote" in log.read_text()
    assert result.stdout == "done on stdout\n"  # flushed before the fast exit, nothing after it


def test_user_error_is_one_line_and_exit_one(tmp_path):
    result, out, log = _run(tmp_path, "user-error")
    assert result.returncode == 1 and not out.exists()
    assert result.stderr.strip() == (
        "ganinv error in rule demo: faces.resolution must be a power of two; got 48"
    )
    assert "power of two" in log.read_text()


def test_unexpected_error_points_to_the_log_with_its_traceback(tmp_path):
    result, _, log = _run(tmp_path, "bug")
    assert result.returncode == 1
    assert "failed unexpectedly (KeyError" in result.stderr and str(log) in result.stderr
    assert "Traceback" in log.read_text() and "Traceback" not in result.stderr
