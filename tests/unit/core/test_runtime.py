"""Device selection (a clear message when CUDA is asked for and absent), torch settings, and the
number check of configs."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from ganinv.runtime import UserError, check_number, resolve_device


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_says_what_to_set():
    with pytest.raises(UserError, match="set device: auto"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")


def test_unknown_device_is_named():
    with pytest.raises(UserError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.parametrize(
    "value, bounds, message",
    [
        ("0.1", {}, r"^x\.lr must be a finite number, got '0\.1'$"),
        (True, {}, "finite number, got True"),
        (float("nan"), {"minimum": 0}, r"finite number >= 0, got nan"),
        (0, {"above": 0}, r"finite number > 0, got 0"),
        (1.0, {"minimum": 0, "below": 1}, r"finite number in \[0, 1\), got 1\.0"),
        (0.0, {"above": 0, "below": 1}, r"finite number in \(0, 1\), got 0\.0"),
        (0.7, {"below": 0.5}, r"finite number < 0\.5, got 0\.7"),
    ],
)
def test_check_number_names_the_setting_and_its_bounds(value, bounds, message):
    with pytest.raises(UserError, match=message):
        check_number("x.lr", value, **bounds)


def test_check_number_returns_a_float():
    assert check_number("x", 3, minimum=0) == 3.0 and isinstance(check_number("x", 3), float)
    assert check_number("x", np.float32(0.5), minimum=0, below=1) == 0.5
    assert check_number("x", -2, below=0) == -2.0


def test_steps_without_torch_do_not_import_it_and_late_imports_get_the_settings():
    """Tables and curve figures never import torch (2 s per job); a step that imports it later
    still runs single-threaded and deterministic once it resolves its device."""
    code = (
        "import sys\n"
        "from ganinv import runtime, plots, tables\n"
        "runtime.configure_torch(1)\n"
        "assert 'torch' not in sys.modules and 'torchvision' not in sys.modules\n"
        "runtime.resolve_device('cpu')\n"
        "import torch\n"
        "assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "2"}, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
