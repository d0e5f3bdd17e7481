import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project's packages, wherever pytest starts


@pytest.fixture
def float64():
    """Tensors made in the test default to float64 (finite-difference checks)."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)
