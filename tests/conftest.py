"""Shared test setup: tiny engine settings and isolated user folders."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path_factory, monkeypatch):
    # tests never touch the real home: style cache and user presets live in a tmp folder
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("NEURALFX_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("NEURALFX_PRESET_DIR", str(root / "user-presets"))


# Small enough to run in well under a second per render on 2 cores.
TINY = dict(n_filters=32, iterations=3, griffin_lim_iterations=4, chunk_seconds=2.0,
            overlap_seconds=0.5, device="cpu")


@pytest.fixture
def tiny():
    return dict(TINY)


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch at one thread for a module: on shared cores its second thread waits on the other
    users (10-40x slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
