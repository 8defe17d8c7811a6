"""The job's environment is pinned to uv.lock."""

from __future__ import annotations

from jobs import environment


def test_conda_file_matches_the_lock() -> None:
    expected = environment.render_conda_file(environment.export_requirements())
    assert environment.CONDA_FILE.read_text() == expected, (
        "jobs/environment.conda.yaml drifted from uv.lock: "
        "run `uv run --frozen python -m jobs.environment --write`"
    )


def test_conda_file_pins_the_runtime_and_leaves_out_the_submit_side() -> None:
    text = environment.CONDA_FILE.read_text()
    for runtime in ("dask==", "distributed==", "dask-mpi==", "mpi4py==", "adlfs==", "pyarrow=="):
        assert f'"{runtime}' in text, runtime
    for submit_side in environment.SUBMIT_SIDE_PACKAGES:
        assert f'"{submit_side}==' not in text, submit_side
    assert "  - python=3.11\n" in text


def test_version_follows_content() -> None:
    text = environment.CONDA_FILE.read_text()
    version = environment.content_version(environment.BASE_IMAGE, text)
    assert version == environment.content_version(environment.BASE_IMAGE, text)
    assert version != environment.content_version(environment.BASE_IMAGE, text + "# changed\n")
    assert version != environment.content_version(environment.BASE_IMAGE + ":other", text)
