"""Device selection: a clear message when CUDA is asked for and absent."""

import pytest
import torch

from ganinv.runtime import UserError, resolve_device


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_says_what_to_set():
    with pytest.raises(UserError, match="set device: auto"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")


def test_unknown_device_is_named():
    with pytest.raises(UserError, match="unknown device 'tpu'"):
        resolve_device("tpu")
