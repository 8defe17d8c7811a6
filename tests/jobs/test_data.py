"""Dataset locations: what users and Azure ML pass, resolved to something fsspec opens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.data import REPORT_MARKER, Location, StagedOutput, blob_endpoint, resolve
from jobs.errors import InvalidInputError


def test_local_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve("data").url == str(tmp_path / "data")
    assert resolve(f"file://{tmp_path}/x").url == str(tmp_path / "x")
    assert resolve("data").is_local


def test_abfss_url_uses_the_account_and_default_credential(clean_env: pytest.MonkeyPatch) -> None:
    location = resolve("abfss://raw@dlamldaskdevx7k2.dfs.core.windows.net/nyctlc/yellow/")
    assert location.url == "abfss://raw@dlamldaskdevx7k2.dfs.core.windows.net/nyctlc/yellow"
    assert location.storage_options == {"account_name": "dlamldaskdevx7k2", "anon": False}
    assert blob_endpoint(location) == ("dlamldaskdevx7k2.blob.core.windows.net", 443)


def test_connection_string_wins_when_set(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
    )
    location = resolve("abfs://lake/taxi")
    assert "connection_string" in location.storage_options
    assert blob_endpoint(location) == ("127.0.0.1", 10000)


def test_abfs_without_an_account_is_an_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="abfs://lake/taxi: no storage account"):
        resolve("abfs://lake/taxi")


def test_https_storage_url_becomes_abfss(clean_env: pytest.MonkeyPatch) -> None:
    location = resolve("https://acct.blob.core.windows.net/raw/nyctlc")
    assert location.url == "abfss://raw@acct.dfs.core.windows.net/nyctlc"


def test_azureml_datastore_uri_resolves_through_the_stack_mapping(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """What an Azure ML `direct` input hands the job."""
    clean_env.setenv(
        "JOBS_DATASTORE_URLS",
        json.dumps({"datalake_raw": "abfss://raw@acct.dfs.core.windows.net/"}),
    )
    short = resolve("azureml://datastores/datalake_raw/paths/nyctlc/yellow/")
    assert short.url == "abfss://raw@acct.dfs.core.windows.net/nyctlc/yellow"
    long = resolve(
        "azureml://subscriptions/s/resourcegroups/rg/workspaces/w/datastores/datalake_raw/paths/x"
    )
    assert long.url == "abfss://raw@acct.dfs.core.windows.net/x"
    with pytest.raises(InvalidInputError, match="datastore 'other' has no known data lake URL"):
        resolve("azureml://datastores/other/paths/x")


def test_staged_output_commits_marker_last_and_aborts_cleanly(tmp_path: Path) -> None:
    staged = StagedOutput(Location(str(tmp_path / "out")))
    staging = Path(staged.open_staging().url)
    (staging / "summary.json").write_text("{}")
    (staging / "prepared").mkdir()
    (staging / "prepared" / "part.0.parquet").write_text("x")
    staged.commit()
    report = [REPORT_MARKER, "prepared", "summary.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == report

    again = StagedOutput(Location(str(tmp_path / "out")), overwrite=True)
    Path(again.open_staging().url, "summary.json").write_text('{"new": 1}')
    again.abort()  # a failed rerun keeps the earlier result untouched
    assert (tmp_path / "out" / "summary.json").read_text() == "{}"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == report


def test_overwrite_replaces_exactly_the_previous_report(tmp_path: Path) -> None:
    first = StagedOutput(Location(str(tmp_path / "out")))
    staging = Path(first.open_staging().url)
    (staging / "summary.json").write_text("{}")
    (staging / "prepared").mkdir()
    first.commit()
    assert json.loads((tmp_path / "out" / REPORT_MARKER).read_text()) == {
        "entries": ["prepared", "summary.json"]
    }

    second = StagedOutput(Location(str(tmp_path / "out")), overwrite=True)
    Path(second.open_staging().url, "summary.json").write_text('{"new": 1}')
    second.commit()  # `prepared` of the first report goes: the new one has none
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [REPORT_MARKER, "summary.json"]
    assert (tmp_path / "out" / "summary.json").read_text() == '{"new": 1}'


def test_the_marker_is_written_after_every_other_entry(tmp_path: Path, monkeypatch) -> None:
    """A commit that stops half-way leaves a folder that does not look like a report."""
    staged = StagedOutput(Location(str(tmp_path / "out")))
    staging = Path(staged.open_staging().url)
    (staging / "summary.json").write_text("{}")
    (staging / "describe.csv").write_text("x")
    moved: list[str] = []
    real_move = StagedOutput._move

    def move(self: StagedOutput, source: str, target: str) -> None:
        assert not (tmp_path / "out" / REPORT_MARKER).exists()
        moved.append(target.rsplit("/", 1)[-1])
        real_move(self, source, target)

    monkeypatch.setattr(StagedOutput, "_move", move)
    staged.commit()
    assert moved == ["describe.csv", "summary.json"]
    assert (tmp_path / "out" / REPORT_MARKER).exists()


def test_a_stale_staging_folder_does_not_count_as_content(tmp_path: Path) -> None:
    """#13 item 7: a killed run's hidden staging folder made the next run refuse the output."""
    (tmp_path / "out" / ".staging-0123456789ab").mkdir(parents=True)
    staged = StagedOutput(Location(str(tmp_path / "out")))  # no error: nothing of the user's
    Path(staged.open_staging().url, "summary.json").write_text("{}")
    staged.commit()
    assert (tmp_path / "out" / "summary.json").exists()
    (tmp_path / "out" / ".hidden-notes").write_text("the user's")
    with pytest.raises(InvalidInputError, match="already has content"):
        StagedOutput(Location(str(tmp_path / "out")))
