"""Where datasets and reports live: local folders, the data lake over `abfs(s)://`, and Azure
ML inputs, plus the staged output folder that is committed only when a run succeeds.

Credentials for `abfs(s)://` come from the environment, never from flags:
`AZURE_STORAGE_CONNECTION_STRING` if set (Azurite, or an account key), otherwise
`DefaultAzureCredential` through adlfs, which is a managed identity on Azure ML compute
(`AZURE_CLIENT_ID` selects the compute cluster's user-assigned identity) and `az login`
on a laptop.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fsspec

from jobs.errors import InvalidInputError, StorageUnreachableError

# Set by `submit` on the job: datastore name -> abfss:// URL of its filesystem, so that an
# `azureml://datastores/<name>/paths/<path>` input in `direct` mode resolves to the data lake.
DATASTORE_URLS_ENV = "JOBS_DATASTORE_URLS"
CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"

_AZUREML_URI = re.compile(
    r"^azureml://(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/workspaces/[^/]+/)?"
    r"datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)$"
)
_HTTPS_STORAGE_URL = re.compile(
    r"^https://(?P<account>[^./]+)\.(?:blob|dfs)\.core\.windows\.net/(?P<container>[^/]+)/?(?P<path>.*)$"
)
_ABFS_URL = re.compile(
    r"^(?P<scheme>abfss?)://(?P<container>[^/@]+)(?:@(?P<account>[^./]+)\.(?:dfs|blob)\.core\.windows\.net)?/?(?P<path>.*)$"
)


@dataclass(frozen=True)
class Location:
    """A folder of data: a local path or an `abfs(s)://` URL, and how to open it."""

    url: str
    storage_options: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_local(self) -> bool:
        """True for a folder on this machine's file system (including Azure ML mounts)."""
        return "://" not in self.url

    def filesystem(self) -> tuple[fsspec.AbstractFileSystem, str]:
        """The fsspec file system for this location and the path inside it."""
        fs, path = fsspec.core.url_to_fs(self.url, **self.storage_options)
        return fs, path

    def child(self, *parts: str) -> Location:
        """A location below this one."""
        return Location("/".join([self.url.rstrip("/"), *parts]), self.storage_options)

    def __str__(self) -> str:
        return self.url


def _datastore_urls_from_env() -> dict[str, str]:
    raw = os.environ.get(DATASTORE_URLS_ENV)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"{DATASTORE_URLS_ENV} is not JSON ({error})") from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"{DATASTORE_URLS_ENV} must be a JSON object name -> URL")
    return {str(k): str(v) for k, v in value.items()}


def _abfs_options(account: str | None, source: str) -> dict[str, Any]:
    connection_string = os.environ.get(CONNECTION_STRING_ENV)
    if connection_string:
        return {"connection_string": connection_string}
    account = account or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise InvalidInputError(
            f"{source}: no storage account; use abfss://<filesystem>@<account>.dfs.core."
            f"windows.net/<path>, or set {CONNECTION_STRING_ENV} or AZURE_STORAGE_ACCOUNT_NAME"
        )
    # adlfs builds a DefaultAzureCredential when it gets an account and no secret.
    return {"account_name": account, "anon": False}


def resolve(text: str, datastore_urls: Mapping[str, str] | None = None) -> Location:
    """Turn what a user or Azure ML passes (path, URL, datastore URI) into a `Location`.

    Accepted: a local path (or `file://`), `abfs://` and `abfss://` URLs, `https://` blob or
    dfs URLs of a storage account, and `azureml://datastores/<name>/paths/<path>` for the
    identity-based datastores of the stack (an Azure ML `direct` input).
    """
    text = text.strip()
    if not text:
        raise InvalidInputError("empty location; give a folder path or an abfs(s):// URL")
    match = _AZUREML_URI.match(text)
    if match:
        urls = dict(datastore_urls or {}) or _datastore_urls_from_env()
        datastore = match["datastore"]
        if datastore not in urls:
            known = ", ".join(sorted(urls)) or f"none ({DATASTORE_URLS_ENV} is not set)"
            raise InvalidInputError(
                f"{text}: datastore {datastore!r} has no known data lake URL; known: {known}"
            )
        return resolve(urls[datastore].rstrip("/") + "/" + match["path"])
    match = _HTTPS_STORAGE_URL.match(text)
    if match:
        url = (
            f"abfss://{match['container']}@{match['account']}.dfs.core.windows.net/{match['path']}"
        )
        return resolve(url)
    match = _ABFS_URL.match(text)
    if match:
        options = _abfs_options(match["account"], text)
        return Location(text.rstrip("/"), options)
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        raise InvalidInputError(
            f"{text}: unsupported location; use a local path, abfs(s)://, https://<account>."
            "blob|dfs.core.windows.net/..., or azureml://datastores/<name>/paths/<path>"
        )
    return Location(str(Path(text).expanduser().resolve()))


def blob_endpoint(location: Location) -> tuple[str, int] | None:
    """Host and port of the blob endpoint behind an `abfs(s)://` location (None if local)."""
    if location.is_local:
        return None
    options = location.storage_options
    if "connection_string" in options:
        parts = dict(
            part.split("=", 1) for part in options["connection_string"].split(";") if "=" in part
        )
        if "BlobEndpoint" in parts:
            url = urlsplit(parts["BlobEndpoint"])
            return url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
        suffix = parts.get("EndpointSuffix", "core.windows.net")
        return f"{parts.get('AccountName', '')}.blob.{suffix}", 443
    return f"{options.get('account_name', '')}.blob.core.windows.net", 443


def check_reachable(location: Location) -> tuple[fsspec.AbstractFileSystem, str]:
    """Open the file system and make one call, so an unreachable account fails early.

    A plain TCP connect to the blob endpoint comes first: the Azure SDK retries a refused
    or unresolvable endpoint for over a minute before giving up.
    """
    endpoint = blob_endpoint(location)
    if endpoint is not None:
        host, port = endpoint
        try:
            socket.create_connection((host, port), timeout=10).close()
        except OSError as error:
            raise StorageUnreachableError(
                f"cannot reach the storage behind {location}: blob endpoint {host}:{port} "
                f"does not answer ({error})"
            ) from None
    try:
        fs, path = location.filesystem()
        fs.exists(path)
    except (InvalidInputError, FileNotFoundError):
        raise
    except Exception as error:  # the Azure SDK raises many types for one cause
        first_line = str(error).splitlines()[0] if str(error) else ""
        raise StorageUnreachableError(
            f"cannot reach the storage behind {location}: {type(error).__name__}: {first_line}"
        ) from None
    return fs, path


STAGING_PREFIX = ".staging-"
# Written last by `StagedOutput.commit`: the folder holds a complete report of this job, and
# `--overwrite` may replace exactly the entries it lists. A folder without it is never replaced.
REPORT_MARKER = ".azureml-dask-report"
_LISTED_ENTRIES = 5


def _entries(fs: fsspec.AbstractFileSystem, path: str) -> list[str]:
    """Names of the entries directly inside `path`."""
    names = (entry.rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(path, detail=False))
    return sorted(name for name in names if name and f"{path.rstrip('/')}/{name}" != path)


def _is_empty_folder(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    """No entries other than staging folders a killed run of this job left behind."""
    return not [name for name in _entries(fs, path) if not name.startswith(STAGING_PREFIX)]


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED_ENTRIES])
    more = len(names) - _LISTED_ENTRIES
    return shown + (f" and {more} more" if more > 0 else "")


def _normalised(location: Location) -> str:
    """A comparable form of a location: the real local path (symlinks resolved), or
    `account/container/path` of a data lake URL."""
    if location.is_local:
        return os.path.realpath(location.url).rstrip("/") or "/"
    match = _ABFS_URL.match(location.url)
    if match is None:
        return location.url.rstrip("/")
    account = match["account"] or location.storage_options.get("account_name", "")
    if not account and "connection_string" in location.storage_options:
        account = (blob_endpoint(location) or ("", 0))[0]
    path = "/".join(part for part in match["path"].split("/") if part)
    return f"{account.lower()}/{match['container']}/{path}".rstrip("/")


def check_apart(dataset: Location, output: Location) -> None:
    """Refuse an output that is the dataset, holds it, or sits inside it: committing the
    report there would delete or mix with the data."""
    source, target = _normalised(dataset), _normalised(output)
    if source == target:
        problem = "is the input dataset"
    elif source.startswith(target.rstrip("/") + "/"):
        problem = "contains the input dataset"
    elif target.startswith(source.rstrip("/") + "/"):
        problem = "is inside the input dataset"
    else:
        return
    raise InvalidInputError(
        f"output {output} {problem} {dataset}; choose an output folder outside the dataset"
    )


class StagedOutput:
    """An output folder whose content appears only when the run commits it.

    Everything is written under a hidden staging folder inside the output folder (inside,
    because on Azure ML the output folder is itself a mount point shared by all nodes), then
    moved into place by `commit`, the summary last, so a present `summary.json` means a
    complete result. `abort` removes the staging folder, and the output folder too when this
    run created it: a failed run leaves nothing behind.
    """

    def __init__(
        self, location: Location, *, overwrite: bool = False, marker: str = "summary.json"
    ):
        self.location = location
        self.marker = marker
        self.overwrite = overwrite
        self.fs, self.path = check_reachable(location)
        self._created: str | None = None  # the topmost folder this run creates, if any
        self._replaced: list[str] = []
        if self.fs.exists(self.path):
            if not self.fs.isdir(self.path):
                raise InvalidInputError(f"output {location} exists and is not a folder")
            self._replaced = self._previous_report() if overwrite else []
            if not overwrite and not _is_empty_folder(self.fs, self.path):
                raise InvalidInputError(
                    f"output {location} already has content; choose a new folder or pass "
                    "--overwrite to replace it when the run succeeds"
                )
        else:
            self._created = self._topmost_missing()
        self.staging = location.child(f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}")
        _, self.staging_path = self.staging.filesystem()
        self._check_writable()

    def _check_writable(self) -> None:
        """Write and remove a probe where the staging folder goes, so that a read-only
        folder (or parent, or mount) or a missing write permission is reported now, naming
        the path, rather than after the cluster has started and read the data."""
        probe = f"{self.staging_path}/.write-probe"
        try:
            self.fs.makedirs(self.staging_path, exist_ok=True)
            self.fs.pipe_file(probe, b"")
        except OSError as error:  # read-only file system, permission denied, a file in the way
            where = getattr(error, "filename", None) or self.path
            reason = error.strerror or type(error).__name__
            raise InvalidInputError(
                f"output {self.location} cannot be written: {where}: {reason}; choose a "
                "folder you can write to"
            ) from None
        except Exception as error:  # the Azure SDK's errors carry the HTTP status
            status = getattr(error, "status_code", None)
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            if status == 403:  # signed in, but not allowed to write (a role, a SAS)
                # https://learn.microsoft.com/rest/api/storageservices/sas-error-codes
                # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage
                raise InvalidInputError(
                    f"output {self.location} cannot be written: permission denied "
                    f"({first_line}); the identity or key in use needs write access there, "
                    "e.g. the Storage Blob Data Contributor role"
                ) from None
            raise StorageUnreachableError(
                f"cannot write to the storage behind {self.location}: "
                f"{type(error).__name__}: {first_line}"
            ) from None
        finally:
            self.abort()

    def _previous_report(self) -> list[str]:
        """The entries `--overwrite` may replace: those a previous report of this job listed
        in its marker. Anything else in the folder is someone's data, and refused."""
        names = [n for n in _entries(self.fs, self.path) if not n.startswith(STAGING_PREFIX)]
        if not names:
            return []
        marker = f"{self.path}/{REPORT_MARKER}"
        listed: list[str] = []
        if REPORT_MARKER in names:
            try:
                listed = [str(name) for name in json.loads(self.fs.cat_file(marker))["entries"]]
            except (ValueError, KeyError, TypeError):
                listed = []
        foreign = [n for n in names if n != REPORT_MARKER and n not in listed]
        if REPORT_MARKER not in names or foreign:
            found = _listing(foreign or names)
            raise InvalidInputError(
                f"output {self.location} does not hold a report of this job "
                f"(no {REPORT_MARKER} marker listing its content); --overwrite replaces only a "
                f"previous report and refuses other content; found: {found}"
            )
        return [REPORT_MARKER, *(n for n in names if n != REPORT_MARKER)]

    def open_staging(self) -> Location:
        """Create the staging folder and return it; write every output below it."""
        self.fs.makedirs(self.staging_path, exist_ok=True)
        return self.staging

    def commit(self) -> None:
        """Put the staged content in place: the previous report's entries (its marker
        first) are removed, the new ones moved in (summary last), and the marker written
        last, so a folder without the marker never looks like a complete report."""
        entries = sorted(
            (e.rstrip("/") for e in self.fs.ls(self.staging_path, detail=False)),
            key=lambda e: e.rsplit("/", 1)[-1] == self.marker,
        )
        for name in self._replaced:  # the marker first
            self._remove(f"{self.path}/{name}")
        names = []
        for entry in entries:
            name = entry.rsplit("/", 1)[-1]
            self._move(entry, f"{self.path}/{name}")
            names.append(name)
        self._remove(self.staging_path)
        marker = json.dumps({"entries": sorted(names)}, indent=2).encode()
        self.fs.pipe_file(f"{self.path}/{REPORT_MARKER}", marker)

    def _move(self, source: str, target: str) -> None:
        if not self.fs.isdir(source):
            self.fs.mv(source, target)
        elif self.location.is_local:
            self.fs.mv(source, target, recursive=True)  # one rename
        else:
            # Blob storage has no folders to rename: move file by file.
            for path in self.fs.find(source):
                self.fs.mv(path, target + path[len(source) :])

    def abort(self) -> None:
        """Remove whatever this run wrote."""
        self._remove(self.staging_path)
        if self._created and self.fs.exists(self._created) and not self.fs.find(self._created):
            self._remove(self._created)  # only empty folders below it: all of them ours

    def _topmost_missing(self) -> str:
        """The highest folder on the way to the output that does not exist yet: the one
        creating the output creates, and a failed run removes."""
        path = self.path.rstrip("/")
        while True:
            parent = self.fs._parent(path).rstrip("/")
            if not parent or parent == path or self.fs.exists(parent):
                return path
            path = parent

    def _remove(self, path: str) -> None:
        try:
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass


@dataclass(frozen=True)
class ParquetDataset:
    """What a parquet folder holds, read from the files' footers only."""

    location: Location
    files: tuple[str, ...]
    rows: int
    schema: Any  # the unified pyarrow.Schema of all files (partition folders not included)
    row_groups: int = 0  # across all files; what partition sizes can be built from
    file_row_groups: tuple[int, ...] = ()  # row groups in each of `files`, in order
    # Columns that some files lack (read as nulls there) -> those files, in order.
    absent: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    file_rows: tuple[int, ...] = ()  # rows in each of `files`, in order

    def rows_without(self, column: str) -> int:
        """Rows of the files that lack `column` (0 when every file has it)."""
        lacking = set(self.absent.get(column, ()))
        return sum(n for path, n in zip(self.files, self.file_rows, strict=True) if path in lacking)


def _type_name(value: Any) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(value):
        return f"timestamp[{value.unit}, tz={value.tz}]" if value.tz else f"timestamp[{value.unit}]"
    return str(value)


def _kind(value: Any) -> str:
    """The family a column type belongs to: types of one family read as one unified type."""
    import pyarrow as pa

    if pa.types.is_dictionary(value):
        return _kind(value.value_type)
    if pa.types.is_integer(value) or pa.types.is_floating(value):
        return "number"
    if pa.types.is_timestamp(value):
        return f"timestamp tz={value.tz}" if value.tz else "timestamp (no time zone)"
    if pa.types.is_date(value):
        return "date"
    if pa.types.is_string(value) or pa.types.is_large_string(value):
        return "string"
    return str(value)


def _unified_type(types: list[Any]) -> Any:
    """The one type that every file's values of a column read as, without loss: the type
    itself when all files agree, else the widest of the family (int64 for integers, float64
    once a float or a mixed width appears, the finest timestamp unit, date32, large_string)."""
    import pyarrow as pa

    plain = [t.value_type if pa.types.is_dictionary(t) else t for t in types]
    if len(set(types)) == 1:
        return types[0]
    if len(set(plain)) == 1:
        return plain[0]  # dictionary-encoded in some files: read as the plain values
    if all(pa.types.is_integer(t) for t in plain):
        return pa.int64()
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in plain):
        return pa.float64()
    if all(pa.types.is_timestamp(t) for t in plain):
        finest = max(plain, key=lambda t: ("s", "ms", "us", "ns").index(t.unit))
        return pa.timestamp(finest.unit, tz=finest.tz)
    if all(pa.types.is_date(t) for t in plain):
        return pa.date32()
    return pa.large_string()  # string and large_string


def unify_schemas(
    location: Location, files: list[str], schemas: list[Any]
) -> tuple[Any, dict[str, tuple[str, ...]]]:
    """One schema for the whole dataset, checked file by file, and the files each column is
    absent from.

    Every column of any file is a column of the dataset, in the order the files first name
    them; a file without it reads it as nulls (whether that is safe depends on the column's
    role, which the analysis decides). Types of one family unify (integer and float widths,
    timestamp units, dictionary encoding; nulls aside); types of different families, such as
    a string and a float or a timestamp with and without a time zone, are refused with the
    first conflicting column by name and a file of each type, whatever order the files
    come in.
    """
    import pyarrow as pa

    order: dict[str, None] = {}
    types: dict[str, list[Any]] = {}
    kinds: dict[str, dict[str, tuple[str, Any]]] = {}
    present: dict[str, set[str]] = {}
    for path, schema in zip(files, schemas, strict=True):
        for column in schema:
            order.setdefault(column.name)
            present.setdefault(column.name, set()).add(path)
            if pa.types.is_null(column.type):
                continue
            types.setdefault(column.name, []).append(column.type)
            kinds.setdefault(column.name, {}).setdefault(_kind(column.type), (path, column.type))
    for name in sorted(kinds):
        if len(kinds[name]) > 1:
            found = "; ".join(
                f"{_type_name(value)} in {path}"
                for path, value in sorted(kinds[name].values(), key=lambda item: item[0])
            )
            raise InvalidInputError(
                f"column {name!r} has different types across the files of dataset "
                f"{location}: {found}; rewrite the files so the column has one type"
            )
    fields = [pa.field(name, _unified_type(types.get(name, [pa.null()]))) for name in order]
    absent = {
        name: tuple(path for path in files if path not in present[name])
        for name in order
        if len(present[name]) < len(files)
    }
    return pa.schema(fields), absent


def inspect_parquet(location: Location) -> ParquetDataset:
    """List a parquet dataset's files and read every footer, so that a missing folder, an
    empty dataset or a corrupt file is reported by name before any computation starts."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    fs, root = check_reachable(location)
    if not fs.exists(root):
        raise InvalidInputError(f"dataset {location} does not exist")
    if not fs.isdir(root):
        files = [root]
    else:
        # Hidden and underscore entries (staging folders, _SUCCESS, _metadata) are not data.
        files = sorted(
            path
            for path in fs.find(root)
            if not any(part.startswith((".", "_")) for part in path[len(root) :].split("/"))
        )
    if not files:
        raise InvalidInputError(f"dataset {location} is empty: it holds no parquet files")

    def footer(path: str) -> Any:
        try:
            with fs.open(path, "rb") as handle:
                return pq.read_metadata(handle)
        except Exception as error:
            raise InvalidInputError(
                f"{path} in dataset {location} is not a readable parquet file: {error}"
            ) from None

    with ThreadPoolExecutor(max_workers=16) as pool:
        footers = list(pool.map(footer, files))
    schemas = [meta.schema.to_arrow_schema() for meta in footers]
    schema, absent = unify_schemas(location, files, schemas)
    rows = sum(meta.num_rows for meta in footers)
    if rows == 0:
        raise InvalidInputError(f"dataset {location} is empty: its {len(files)} files hold 0 rows")
    per_file = tuple(meta.num_row_groups for meta in footers)
    file_rows = tuple(meta.num_rows for meta in footers)
    return ParquetDataset(
        location, tuple(files), rows, schema, sum(per_file), per_file, absent, file_rows
    )
