"""The lake on disk: layout, staging, atomic replacement of a trace, manifests.

    <lake>/_lake.json                          marks the directory as a lake
    <lake>/<table>/trace=<name>/part-*.parquet the canonical tables, Hive-partitioned by trace
    <lake>/_rejected/trace=<name>/*.parquet    every rejected row with file, line and reason
    <lake>/_manifest/<name>.json               provenance and counts of the last ingest
    <lake>/_staging/, <lake>/_trash/           work areas, never read by queries

A trace is written to `_staging` first and moved into place only when everything succeeded,
so a failed or interrupted ingest leaves the lake as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    def table_glob(self, table: str) -> str:
        return str(self.root / table / "**" / "*.parquet")

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


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
