"""The lake on disk: layout, staging, atomic replacement of a trace, manifests.

    <lake>/_lake.json                          marks the directory as a lake
    <lake>/<table>/trace=<name>/part-*.parquet the canonical tables, Hive-partitioned by trace
    <lake>/_rejected/trace=<name>/*.parquet    every rejected row with file, line and reason
    <lake>/_manifest/<name>.json               provenance and counts of the last ingest
    <lake>/_staging/, <lake>/_trash/           work areas, never read by queries

A trace is written to `_staging` first and moved into place only when everything succeeded,
so a failed or interrupted ingest leaves the lake as it was.

A lake copied to object storage (`aws s3 sync lake s3://bucket/lake`) is read in place by
`RemoteLake`, through pyarrow's file systems (S3, GCS, HDFS, ...). It is read-only: ingest
needs renames to commit atomically, which object stores do not have, so traces are ingested
into a local (or shared) lake and then copied up.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ingest.errors import LakeError
from ingest.schema import SCHEMA_VERSION, TABLES

MARKER = "_lake.json"
REJECTED = "_rejected"
MANIFESTS = "_manifest"
STAGING = "_staging"
TRASH = "_trash"
DEFAULT_LAKE = "lake"


def default_lake_path() -> Path:
    return Path(os.environ.get("TRACES_LAKE", DEFAULT_LAKE))


def _partition(trace: str) -> str:
    return f"trace={trace}"


def is_uri(location: str | Path) -> bool:
    """True for an object-store location such as s3://bucket/lake (not a local path)."""
    return "://" in str(location)


@dataclass(frozen=True)
class TableLocation:
    """Where one canonical table's Parquet files are, as a query engine needs to know it."""

    uri: str  # <lake>/<table>: a local directory, or an object-store URI
    filesystem: Any = None  # pyarrow FileSystem of an object store; None for a local lake
    files: tuple[str, ...] = ()  # object stores: the Parquet files, as paths in `filesystem`


@dataclass(frozen=True)
class Lake:
    root: Path

    @classmethod
    def open(cls, root: Path, create: bool = False) -> Lake:
        """The lake at `root`; with `create`, make it if it does not exist yet.

        Refuses a non-empty directory that is not a lake, so that a mistyped `--lake` never
        writes table folders into, say, a home directory.
        """
        marker = root / MARKER
        if marker.is_file():
            return cls(root)
        if root.exists() and not root.is_dir():
            raise LakeError(f"{root} is a file, not a lake directory. Pass --lake DIR.")
        if root.is_dir() and any(root.iterdir()):
            raise LakeError(
                f"{root} is not empty and is not a workload-traces lake (no {MARKER}). "
                "Pass --lake with a new or empty directory."
            )
        if not create:
            raise LakeError(
                f"No lake at {root}. Ingest something first: `traces ingest PATH --lake {root}`."
            )
        root.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"format": "workload-traces lake", "schema": SCHEMA_VERSION}))
        return cls(root)

    def table_dir(self, table: str, trace: str) -> Path:
        return self.root / table / _partition(trace)

    def rejected_dir(self, trace: str) -> Path:
        return self.root / REJECTED / _partition(trace)

    def manifest_path(self, trace: str) -> Path:
        return self.root / MANIFESTS / f"{trace}.json"

    def table_location(self, table: str) -> TableLocation:
        return TableLocation(str(self.root / table))

    def has_table(self, table: str) -> bool:
        return any((self.root / table).glob("trace=*/*.parquet"))

    def manifests(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted((self.root / MANIFESTS).glob("*.json")):
            try:
                out.append(json.loads(path.read_text()))
            except ValueError as e:
                raise LakeError(
                    f"{path}: the manifest is not valid JSON ({e}). Re-ingest that trace."
                ) from e
        return out

    def stage(self, trace: str) -> Stage:
        path = self.root / STAGING / f"{trace}-{uuid.uuid4().hex[:12]}"
        path.mkdir(parents=True)
        return Stage(self, trace, path)


@dataclass(frozen=True)
class Stage:
    """Where one trace's new data is written before it replaces the old."""

    lake: Lake
    trace: str
    path: Path

    def table_dir(self, table: str) -> Path:
        return self.path / table

    @property
    def rejected_dir(self) -> Path:
        return self.path / REJECTED

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def commit(self, manifest: dict[str, Any]) -> None:
        """Swap the staged tables in for the trace's old ones, then write its manifest.

        Old folders are moved aside first and moved back if any step fails, so the trace is
        either wholly old or wholly new. Only renames happen here: no data is copied.
        """
        lake = self.lake
        trash = lake.root / TRASH / self.path.name
        moves: list[tuple[Path, Path]] = []  # (from, to), to undo in reverse
        targets = [(lake.table_dir(t, self.trace), self.table_dir(t)) for t in TABLES]
        targets.append((lake.rejected_dir(self.trace), self.rejected_dir))
        try:
            for i, (live, _) in enumerate(targets):
                if live.exists():
                    aside = trash / str(i)
                    aside.parent.mkdir(parents=True, exist_ok=True)
                    live.rename(aside)
                    moves.append((live, aside))
            for live, staged in targets:
                if staged.exists() and any(staged.iterdir()):
                    live.parent.mkdir(parents=True, exist_ok=True)
                    staged.rename(live)
                    moves.append((staged, live))
            _write_json(lake.manifest_path(self.trace), manifest)
        except BaseException:
            for src, dst in reversed(moves):
                if dst.exists():
                    dst.rename(src)
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
            self.discard()


@dataclass(frozen=True)
class RemoteLake:
    """A lake in object storage, read in place: `s3://bucket/lake`, `gs://...`, `hdfs://...`.

    The URI is pyarrow's: credentials come from the usual places (AWS_* variables,
    ~/.aws, instance roles); options go in the query string, e.g.
    `s3://bucket/lake?endpoint_override=minio.local:9000&scheme=http` for an S3-compatible
    store. `root` is the URI without credentials or options, safe to print in a report.
    """

    uri: str
    filesystem: Any
    path: str  # the lake's path inside `filesystem` (bucket/prefix)

    @classmethod
    def open(cls, uri: str) -> RemoteLake:
        from pyarrow import fs

        try:
            filesystem, path = fs.FileSystem.from_uri(uri)
        except (ValueError, OSError) as e:
            raise LakeError(f"{_display(uri)}: cannot open this location ({e}).") from e
        lake = cls(uri, filesystem, path.rstrip("/"))
        try:
            marker = filesystem.get_file_info(f"{lake.path}/{MARKER}")
        except OSError as e:
            raise LakeError(
                f"{lake.root}: cannot read the object store ({str(e).splitlines()[0]}). "
                "Check the credentials (AWS_ACCESS_KEY_ID, ...) and the endpoint."
            ) from e
        if marker.type != fs.FileType.File:
            raise LakeError(
                f"No lake at {lake.root} (no {MARKER}). Ingest into a local lake, then copy it "
                f"up whole: `traces ingest PATH --lake lake && aws s3 sync lake {lake.root}`."
            )
        return lake

    @property
    def root(self) -> str:
        return _display(self.uri)

    def _list(self, folder: str, recursive: bool) -> list[Any]:
        from pyarrow import fs

        selector = fs.FileSelector(
            f"{self.path}/{folder}", recursive=recursive, allow_not_found=True
        )
        infos = self.filesystem.get_file_info(selector)
        return sorted((i for i in infos if i.type == fs.FileType.File), key=lambda i: i.path)

    def parquet_files(self, table: str) -> tuple[str, ...]:
        """Part files under `<table>/trace=*/`, as a local lake's glob would find them."""
        return tuple(
            i.path
            for i in self._list(table, recursive=True)
            if i.path.endswith(".parquet") and i.path.split("/")[-2].startswith("trace=")
        )

    def has_table(self, table: str) -> bool:
        return bool(self.parquet_files(table))

    def table_location(self, table: str) -> TableLocation:
        base = urlsplit(self.uri)
        uri = urlunsplit((base.scheme, _host(base), base.path.rstrip("/") + f"/{table}", "", ""))
        return TableLocation(uri, self.filesystem, self.parquet_files(table))

    def manifests(self) -> list[dict[str, Any]]:
        out = []
        for info in self._list(MANIFESTS, recursive=False):
            if not info.path.endswith(".json"):
                continue
            with self.filesystem.open_input_stream(info.path) as f:
                text = f.read().decode("utf-8")
            try:
                out.append(json.loads(text))
            except ValueError as e:
                raise LakeError(
                    f"{self.root}/{MANIFESTS}/{info.base_name}: the manifest is not valid JSON "
                    f"({e}). Re-ingest that trace and copy the lake up again."
                ) from e
        return out


def _display(uri: str) -> str:
    """The URI without credentials or query options."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, _host(parts), parts.path, "", ""))


def _host(parts: Any) -> str:
    """host[:port] of a split URI, without user:password@."""
    return str(parts.netloc).rsplit("@", 1)[-1]


def open_lake(location: str | Path) -> Lake | RemoteLake:
    """A lake to read: a local directory, or an object-store URI (see `RemoteLake`)."""
    if is_uri(location):
        return RemoteLake.open(str(location))
    return Lake.open(Path(location))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
