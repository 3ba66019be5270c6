"""Glue for the workflow's thin scripts: logging to the rule's log, threads, clean errors.

A script calls :func:`run` with the snakemake object and one function. User errors end the job with
one line naming the problem; anything else is logged with its traceback to the rule's log file and
summarised in one line on stderr.

A finished job leaves with ``os._exit``: every output is already closed and renamed into place, and
the interpreter's normal teardown of torch (and of the torch._dynamo modules torchvision pulls in)
costs 0.5-1.4 s per job, a tenth of a small job's wall time.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from ganinv.runtime import UserError, configure_torch, setup_logging


def run(snakemake: Any, main: Callable[[Any], object]) -> None:
    """Run ``main(snakemake)`` with logging set up, then end the process (exit 0).

    On failure: exit 1 with one message on stderr (the traceback, if any, goes to the log).
    """
    log_path = snakemake.log[0] if len(snakemake.log) else None
    logger = setup_logging(log_path)
    rule = getattr(snakemake, "rule", "?")
    configure_torch(getattr(snakemake, "threads", 1))
    try:
        main(snakemake)
    except UserError as exc:
        logger.error("%s", exc)
        print(f"ganinv error in rule {rule}: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # unexpected: full traceback to the log, one line to the user
        logger.error("unexpected failure:\n%s", traceback.format_exc())
        print(
            f"ganinv: rule {rule} failed unexpectedly ({type(exc).__name__}: {exc}); "
            f"the traceback is in {log_path}",
            file=sys.stderr,
        )
        sys.exit(1)
    finally:
        logging.shutdown()
    _exit_now(0)


def _exit_now(code: int) -> None:
    """Flush stdout/stderr and end the process at once, skipping the interpreter's teardown.

    Only for the end of a workflow script: files still open (none are: outputs are written by
    context managers and renamed into place) would not be flushed, and ``atexit`` hooks do not run.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
