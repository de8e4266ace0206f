"""The lake on disk: layout, staging, atomic replacement of a trace, manifests.

    <lake>/_lake.json                          marks the directory as a lake
    <lake>/<table>/trace=<name>/part-*.parquet the canonical tables, Hive-partitioned by trace
    <lake>/_rejected/trace=<name>/*.parquet    every rejected row with file, line and reason
    <lake>/_manifest/<name>.json               provenance and counts of the last ingest
    <lake>/_staging/, <lake>/_trash/           work areas, never read by queries
    <lake>/_journal/<name>.json                a commit in progress (see below)
    <lake>/_lake.lock                          held while a commit or a recovery runs

A trace is written to `_staging` first and moved into place only when everything succeeded,
so a failed or interrupted ingest leaves the lake as it was.

The commit is a handful of renames (old folders and manifest aside, new ones in). Before the
first rename it writes a journal naming every rename, and it marks the journal done after the
last one, all under the lake's lock. A process killed in between leaves the journal behind;
the next command that opens the lake takes the lock and rolls the commit back (journal not
done: the old trace returns) or finishes it (done: the new one stays), then removes the
leftovers of stages whose process is gone. So whatever the moment of a kill, the trace is
either wholly old or wholly new, data and manifest together.

A lake copied to object storage (`aws s3 sync lake s3://bucket/lake`) is read in place by
`RemoteLake`, through pyarrow's file systems (S3, GCS, HDFS, ...). It is read-only: ingest
needs renames to commit atomically, which object stores do not have, so traces are ingested
into a local (or shared) lake and then copied up.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ingest.errors import LakeError, NoLake
from ingest.names import check_trace_name, is_valid
from ingest.schema import SCHEMA_VERSION, TABLES

MARKER = "_lake.json"
REJECTED = "_rejected"
MANIFESTS = "_manifest"
STAGING = "_staging"
TRASH = "_trash"
JOURNAL = "_journal"
LOCK = "_lake.lock"
DEFAULT_LAKE = "lake"
STAGED_MANIFEST = "_manifest.json"
# A stage folder without its lock file is a leftover only once it is this old: the lock file
# is made just before the folder, so a younger one may belong to an ingest starting now.
ORPHAN_AGE_S = 60.0


def default_lake_path() -> Path:
    return Path(os.environ.get("TRACES_LAKE", DEFAULT_LAKE))


def _partition(trace: str) -> str:
    return f"trace={check_trace_name(trace)}"


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
            lake = cls(root)
            lake.recover()
            return lake
        if root.exists() and not root.is_dir():
            raise LakeError(f"{root} is a file, not a lake directory. Pass --lake DIR.")
        if root.is_dir() and any(root.iterdir()):
            raise LakeError(
                f"{root} is not empty and is not a workload-traces lake (no {MARKER}). "
                "Pass --lake with a new or empty directory."
            )
        if not create:
            raise NoLake(
                f"No lake at {root}. Ingest something first: `traces ingest PATH --lake {root}`."
            )
        root.mkdir(parents=True, exist_ok=True)
        (root / LOCK).touch()
        marker.write_text(json.dumps({"format": "workload-traces lake", "schema": SCHEMA_VERSION}))
        return cls(root)

    def _inside(self, path: Path) -> Path:
        """`path`, once it is certain to lie inside the lake (names are checked before, this
        is the second line of defence)."""
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root):
            raise LakeError(f"{path} is outside the lake at {root}; nothing was written.")
        return path

    def table_dir(self, table: str, trace: str) -> Path:
        if table not in TABLES:
            raise LakeError(f"{table!r} is not a table of the lake ({', '.join(TABLES)}).")
        return self._inside(self.root / table / _partition(trace))

    def rejected_dir(self, trace: str) -> Path:
        return self._inside(self.root / REJECTED / _partition(trace))

    def manifest_path(self, trace: str) -> Path:
        return self._inside(self.root / MANIFESTS / f"{check_trace_name(trace)}.json")

    def table_location(self, table: str) -> TableLocation:
        return TableLocation(str(self.root / table))

    def has_table(self, table: str) -> bool:
        return any((self.root / table).glob("trace=*/*.parquet"))

    def manifests(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted((self.root / MANIFESTS).glob("*.json")):
            try:
                manifest = json.loads(path.read_text())
            except ValueError as e:
                raise LakeError(
                    f"{path}: the manifest is not valid JSON ({e}). Re-ingest that trace."
                ) from e
            _check_manifest(path, manifest)
            out.append(manifest)
        return out

    def stage(self, trace: str) -> Stage:
        check_trace_name(trace)
        name = f"{trace}-{uuid.uuid4().hex[:12]}"
        staging = self.root / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        # The lock file comes first and stays locked while the stage lives: `recover` takes
        # a stage whose lock it can get for a leftover of a process that is gone.
        fd = os.open(staging / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = staging / name
        path.mkdir()
        return Stage(self, trace, path, fd)

    # ------------------------------------------------------------ locking and recovery

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The lake's lock: one commit or recovery at a time, across processes."""
        try:
            fd = os.open(self.root / LOCK, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as e:
            raise LakeError(
                f"{self.root}: cannot lock the lake to write it ({e.strerror}). Check that "
                "you may write to this folder."
            ) from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _pending(self) -> bool:
        for folder in (JOURNAL, STAGING, TRASH):
            d = self.root / folder
            if d.is_dir() and any(d.iterdir()):
                return True
        return False

    def recover(self) -> None:
        """Finish or roll back a commit a killed process left, and remove dead stages."""
        if not self._pending():
            return
        try:
            with self.lock():
                self._recover_locked()
        except PermissionError as e:
            raise LakeError(
                f"{self.root}: an interrupted ingest left work to finish, but the lake is not "
                f"writable here ({e.strerror}: {e.filename}). Run any `traces` command on it "
                "once with write access; until then queries may see that trace as it was."
            ) from e

    def _recover_locked(self) -> None:
        journals = self.root / JOURNAL
        for tmp in journals.glob("*.json.tmp") if journals.is_dir() else []:
            tmp.unlink()  # killed before the journal was in place: no rename had happened
        for path in sorted(journals.glob("*.json")) if journals.is_dir() else []:
            try:
                journal = json.loads(path.read_text())
            except ValueError:  # killed while writing the journal: no rename happened yet
                path.unlink()
                continue
            _replay(self.root, journal)
            path.unlink()
        staging = self.root / STAGING
        for entry in sorted(staging.iterdir()) if staging.is_dir() else []:
            if entry.suffix == ".lock" or not entry.is_dir():
                continue
            lock = entry.with_name(entry.name + ".lock")
            if not lock.exists():
                if time.time() - entry.stat().st_mtime > ORPHAN_AGE_S:
                    shutil.rmtree(entry, ignore_errors=True)
                continue
            fd = os.open(lock, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live ingest owns it
            else:
                shutil.rmtree(entry, ignore_errors=True)
                lock.unlink(missing_ok=True)
            finally:
                os.close(fd)
        trash = self.root / TRASH
        for entry in trash.iterdir() if trash.is_dir() else []:
            _remove(entry)


@dataclass(frozen=True)
class Stage:
    """Where one trace's new data is written before it replaces the old."""

    lake: Lake
    trace: str
    path: Path
    lock_fd: int | None = field(default=None, compare=False)

    def table_dir(self, table: str) -> Path:
        return self.path / table

    @property
    def rejected_dir(self) -> Path:
        return self.path / REJECTED

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        lock = self.path.with_name(self.path.name + ".lock")
        lock.unlink(missing_ok=True)
        if self.lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.lock_fd)

    def commit(self, manifest: dict[str, Any]) -> None:
        """Swap the staged tables, rejected rows and manifest in for the trace's old ones.

        Journaled (see the module docstring): a failure here, or a kill, leaves the trace
        wholly old or wholly new. Only renames happen: no data is copied.
        """
        lake = self.lake
        _write_json(self.path / STAGED_MANIFEST, manifest)
        targets = [(lake.table_dir(t, self.trace), self.table_dir(t)) for t in TABLES]
        targets.append((lake.rejected_dir(self.trace), self.rejected_dir))
        targets.append((lake.manifest_path(self.trace), self.path / STAGED_MANIFEST))
        trash = lake.root / TRASH / self.path.name
        root = lake.root
        journal = {
            "trace": self.trace,
            "state": "moving",
            "stage": str(self.path.relative_to(root)),
            "trash": str(trash.relative_to(root)),
            "renames": [
                {
                    "live": str(live.relative_to(root)),
                    "staged": str(staged.relative_to(root)),
                    "aside": str((trash / str(i)).relative_to(root)),
                    "new": _has_content(staged),
                }
                for i, (live, staged) in enumerate(targets)
            ],
        }
        journal_path = root / JOURNAL / f"{self.trace}.json"
        try:
            with lake.lock():
                lake._recover_locked()  # a commit another process left half done comes first
                _write_json(journal_path, journal, durable=True)
                try:
                    _apply(root, journal)
                    journal["state"] = "done"
                    _write_json(journal_path, journal, durable=True)
                except BaseException:
                    # Not done: put the old trace back. If this is itself interrupted, the
                    # journal stays, and the next command finishes the roll-back.
                    journal["state"] = "moving"
                    _replay(root, journal)
                    journal_path.unlink(missing_ok=True)
                    raise
                _replay(root, journal)  # done: only removes what was set aside
                journal_path.unlink(missing_ok=True)
        finally:
            self.discard()


def _has_content(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _apply(root: Path, journal: dict[str, Any]) -> None:
    """The commit's renames: every old thing aside, then every new thing in."""
    renames = journal["renames"]
    for r in renames:
        live, aside = root / r["live"], root / r["aside"]
        if live.exists():
            aside.parent.mkdir(parents=True, exist_ok=True)
            live.rename(aside)
    for r in renames:
        if r["new"]:
            live = root / r["live"]
            live.parent.mkdir(parents=True, exist_ok=True)
            (root / r["staged"]).rename(live)


def _replay(root: Path, journal: dict[str, Any]) -> None:
    """Make an interrupted commit whole: roll it back unless it was marked done."""
    if journal.get("state") != "done":
        for r in reversed(journal["renames"]):
            live, staged, aside = root / r["live"], root / r["staged"], root / r["aside"]
            if r["new"] and not staged.exists() and live.exists():
                _remove(live)  # the new one had been moved in
            if aside.exists() and not live.exists():
                aside.rename(live)
    _remove(root / journal["trash"])
    _remove(root / journal["stage"])
    (root / (journal["stage"] + ".lock")).unlink(missing_ok=True)


def _check_manifest(path: Path, manifest: Any) -> None:
    """A manifest names a valid trace: the name reaches SQL, file names and pages."""
    name = manifest.get("trace") if isinstance(manifest, dict) else None
    if not isinstance(name, str) or not is_valid(name) or path.stem != name:
        raise LakeError(
            f"{path}: this manifest does not name a valid trace (trace {name!r}). It was not "
            "written by `traces ingest`; delete it, or re-ingest the trace under a valid name."
        )


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
            raise NoLake(
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


def _write_json(path: Path, data: dict[str, Any], durable: bool = False) -> None:
    """Write whole or not at all; `durable` also survives a power cut (fsync), for journals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    with tmp.open("w") as f:
        f.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)
