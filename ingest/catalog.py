"""The dataset catalog: where each public trace comes from, its licence, files and checksums.

The catalog itself is data (`datasets/catalog.toml`); this module loads it into frozen
dataclasses and validates it, so a typo in the file fails with the entry, the key and a
suggestion instead of surfacing later as a KeyError or a wrong download.

Each dataset has a `release` (the files of the public release: what `fetch` downloads, plus
steps for what must be fetched by hand) and, optionally, a `sample` (a small public slice,
usually the copy the tests read from ../shared/traces). A file's `shared` path names a
byte-identical copy under ../shared/traces, which the tests check against `sha256`.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from ingest.errors import DataError, UsageError

SCHEMA_VERSION = 1
FAMILIES = ("llm_serving", "serverless", "datacenter", "vm_interference")
CATALOG_ENV = "TRACES_CATALOG"

Access = Literal["direct", "partial", "manual"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA256_PREFIX = re.compile(r"^[0-9a-f]{4,63}$")
# Characters a URL path may carry unescaped (RFC 3986 pchar): Hive-style names stay readable.
_URL_SAFE = "/!$&'()*+,;=:@"

_TOP_KEYS = {"schema_version": False, "dataset": True}
_DATASET_KEYS = {
    "name": True,
    "family": True,
    "title": True,
    "description": True,
    "citation": True,
    "licence": True,
    "homepage": True,
    "adapters": True,
    "release": True,
    "sample": False,
    "notes": False,
}
_FILESET_KEYS = {
    "files": False,
    "base_url": False,
    "shared_dir": False,
    "manual": False,
    "total_size": False,
    "note": False,
}
_FILE_KEYS = {
    "path": True,
    "url": False,
    "size": False,
    "sha256": False,
    "sha256_prefix": False,
    "shared": False,
    "note": False,
}


class CatalogError(DataError):
    """The catalog file is missing or malformed."""


class UnknownDataset(UsageError):
    """A dataset name is not in the catalog."""


@dataclass(frozen=True)
class DataFile:
    """One file of a release or sample."""

    path: str  # relative POSIX path under the download folder
    url: str | None = None  # None: no direct public link, fetch it by hand
    size: int | None = None  # bytes
    sha256: str | None = None  # full lowercase hex digest
    sha256_prefix: str | None = None  # only a prefix is known (marked as such)
    shared: str | None = None  # byte-identical copy, relative to ../shared/traces
    note: str | None = None

    @property
    def checksum_known(self) -> bool:
        return self.sha256 is not None or self.sha256_prefix is not None


@dataclass(frozen=True)
class FileSet:
    """A release or a sample: files to download and steps for what cannot be."""

    files: tuple[DataFile, ...] = ()
    manual: tuple[str, ...] = ()
    total_size: str | None = None  # human-readable size of the whole set
    note: str | None = None

    @property
    def downloadable(self) -> tuple[DataFile, ...]:
        return tuple(f for f in self.files if f.url is not None)

    @property
    def known_bytes(self) -> int | None:
        """Sum of the listed sizes, or None when any size is unknown."""
        sizes = [f.size for f in self.files]
        return None if not sizes or None in sizes else sum(s for s in sizes if s is not None)


@dataclass(frozen=True)
class Dataset:
    name: str
    family: str
    title: str
    description: str
    citation: str
    licence: str
    homepage: str
    adapters: tuple[str, ...]  # source names (ingest/sources) that read these files
    release: FileSet
    sample: FileSet | None = None
    notes: str | None = None

    @property
    def access(self) -> Access:
        """direct: `fetch` gets the whole release; manual: none of it; partial: some."""
        if not self.release.downloadable:
            return "manual"
        complete = len(self.release.downloadable) == len(self.release.files)
        return "direct" if complete and not self.release.manual else "partial"

    def read_by(self, source: str) -> bool:
        """Whether the source named `source` reads this dataset's files."""
        return source in self.adapters


def default_catalog_path() -> Path:
    """$TRACES_CATALOG, else datasets/catalog.toml beside the `ingest` package."""
    env = os.environ.get(CATALOG_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "datasets" / "catalog.toml"


def load_catalog(path: Path | None = None) -> list[Dataset]:
    """Read and validate the catalog. Raises CatalogError naming the entry and key at fault."""
    path = path if path is not None else default_catalog_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(
            f"Dataset catalog not found at {path}. It ships in the source tree as "
            f"datasets/catalog.toml; set ${CATALOG_ENV} to use another file."
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"{path} is not valid TOML: {e}. Fix the file and retry.") from None
    return parse_catalog(raw, str(path))


def parse_catalog(raw: Mapping[str, Any], where: str = "catalog") -> list[Dataset]:
    """Validate an already-parsed catalog (a dict as tomllib returns it)."""
    _check_keys(raw, _TOP_KEYS, where)
    version = raw.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise CatalogError(
            f"{where}: schema_version is {version!r}, this version of the tool reads "
            f"{SCHEMA_VERSION}. Upgrade workload-traces or fix the catalog."
        )
    entries = raw["dataset"]
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{where}: 'dataset' must be a non-empty array of tables ([[dataset]]).")
    datasets = [_dataset(e, f"{where}: dataset #{i + 1}") for i, e in enumerate(entries)]
    seen: set[str] = set()
    for d in datasets:
        if d.name in seen:
            raise CatalogError(f"{where}: dataset name '{d.name}' appears twice; names are unique.")
        seen.add(d.name)
    return datasets


def get_dataset(name: str, catalog: Iterable[Dataset] | None = None) -> Dataset:
    """The dataset called `name`; UnknownDataset with a 'did you mean' for typos."""
    datasets = list(catalog) if catalog is not None else load_catalog()
    by_name = {d.name: d for d in datasets}
    if name in by_name:
        return by_name[name]
    if name.lower() in by_name:
        return by_name[name.lower()]
    raise UnknownDataset(_unknown_message(name, datasets))


def datasets_for_source(source: str, catalog: Iterable[Dataset] | None = None) -> list[Dataset]:
    """The datasets whose files the source named `source` reads."""
    datasets = list(catalog) if catalog is not None else load_catalog()
    return [d for d in datasets if d.read_by(source)]


def _unknown_message(name: str, datasets: Sequence[Dataset]) -> str:
    names = [d.name for d in datasets]
    readers = [d.name for d in datasets if d.read_by(name)]
    close = difflib.get_close_matches(name.lower(), names, n=3, cutoff=0.6)
    if readers:
        hint = f" '{name}' is a source; its files are in dataset '{readers[0]}'."
    elif close:
        hint = " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    else:
        hint = ""
    return f"No dataset named '{name}'.{hint} Run `traces datasets` to list all {len(names)}."


# --- validation helpers -------------------------------------------------------------------


def _check_keys(table: Any, spec: Mapping[str, bool], where: str) -> None:
    if not isinstance(table, Mapping):
        raise CatalogError(f"{where}: expected a table, got {type(table).__name__}.")
    for key in table:
        if key not in spec:
            close = difflib.get_close_matches(key, list(spec), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise CatalogError(
                f"{where}: unknown key '{key}'.{hint} Allowed keys: {', '.join(spec)}."
            )
    missing = [k for k, required in spec.items() if required and k not in table]
    if missing:
        raise CatalogError(f"{where}: missing required key(s) {', '.join(missing)}.")


def _text(table: Mapping[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: '{key}' must be a non-empty string, got {value!r}.")
    return value


def _url(table: Mapping[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = _text(table, key, where, required)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CatalogError(f"{where}: '{key}' must be an http(s) URL, got {value!r}.")
    return value


def _relpath(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise CatalogError(f"{where}: '{key}' must be a non-empty relative path, got {value!r}.")
    p = PurePosixPath(value)
    if "\\" in value or p.is_absolute() or ".." in p.parts or str(p) != value.rstrip("/"):
        raise CatalogError(
            f"{where}: '{key}' = {value!r} must be a plain relative POSIX path "
            "(no leading '/', no '..', no backslashes)."
        )
    return str(p)


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"{where}: '{key}' must be a list of non-empty strings.")
    return tuple(value)


def _dataset(entry: Any, where: str) -> Dataset:
    _check_keys(entry, _DATASET_KEYS, where)
    name = _text(entry, "name", where)
    assert name is not None
    if not _NAME.match(name):
        raise CatalogError(f"{where}: name {name!r} must be snake_case (a-z, 0-9, _).")
    where = f"{where} '{name}'"
    family = entry["family"]
    if family not in FAMILIES:
        close = difflib.get_close_matches(str(family), FAMILIES, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise CatalogError(f"{where}: family {family!r} is not one of {', '.join(FAMILIES)}.{hint}")
    adapters = _strings(entry, "adapters", where)
    for a in adapters:
        if not _NAME.match(a):
            raise CatalogError(f"{where}: adapter {a!r} must be a source name (snake_case).")
    sample = entry.get("sample")
    return Dataset(
        name=name,
        family=family,
        title=_req(entry, "title", where),
        description=_req(entry, "description", where),
        citation=_req(entry, "citation", where),
        licence=_req(entry, "licence", where),
        homepage=_url(entry, "homepage", where) or "",
        adapters=adapters,
        release=_fileset(entry["release"], f"{where} release"),
        sample=None if sample is None else _fileset(sample, f"{where} sample", sample=True),
        notes=_text(entry, "notes", where, required=False),
    )


def _req(table: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(table, key, where)
    assert value is not None
    return value


def _fileset(table: Any, where: str, sample: bool = False) -> FileSet:
    _check_keys(table, _FILESET_KEYS, where)
    base_url = _url(table, "base_url", where, required=False)
    shared_dir = table.get("shared_dir")
    if shared_dir is not None:
        shared_dir = _relpath(shared_dir, "shared_dir", where)
    raw_files = table.get("files", [])
    if not isinstance(raw_files, list):
        raise CatalogError(f"{where}: 'files' must be an array of tables.")
    files = tuple(
        _file(f, f"{where} file #{i + 1}", base_url, shared_dir) for i, f in enumerate(raw_files)
    )
    manual = _strings(table, "manual", where)
    if not files and not manual:
        raise CatalogError(f"{where}: list 'files', or 'manual' steps to get them, or both.")
    if sample and not files:
        raise CatalogError(f"{where}: a sample must list its files.")
    paths = [f.path for f in files]
    dupes = sorted({p for p in paths if paths.count(p) > 1})
    if dupes:
        raise CatalogError(f"{where}: file path(s) listed twice: {', '.join(dupes)}.")
    return FileSet(
        files=files,
        manual=manual,
        total_size=_text(table, "total_size", where, required=False),
        note=_text(table, "note", where, required=False),
    )


def _file(entry: Any, where: str, base_url: str | None, shared_dir: str | None) -> DataFile:
    _check_keys(entry, _FILE_KEYS, where)
    path = _relpath(entry["path"], "path", where)
    where = f"{where} '{path}'"
    url = _url(entry, "url", where, required=False)
    if url is None and base_url is not None:
        url = base_url + quote(path, safe=_URL_SAFE)
    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise CatalogError(f"{where}: 'size' must be a whole number of bytes, got {size!r}.")
    sha256 = entry.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.match(sha256)):
        raise CatalogError(
            f"{where}: 'sha256' must be 64 lowercase hex digits, got {sha256!r}. "
            "If only a prefix is known, store it as 'sha256_prefix'."
        )
    prefix = entry.get("sha256_prefix")
    if prefix is not None and (not isinstance(prefix, str) or not _SHA256_PREFIX.match(prefix)):
        raise CatalogError(
            f"{where}: 'sha256_prefix' must be 4 to 63 lowercase hex digits, got {prefix!r}."
        )
    if sha256 is not None and prefix is not None:
        raise CatalogError(f"{where}: give 'sha256' or 'sha256_prefix', not both.")
    shared = entry.get("shared")
    if shared is not None:
        shared = _relpath(shared, "shared", where)
    elif shared_dir is not None:
        shared = f"{shared_dir}/{path}"
    if shared is not None and sha256 is None:
        raise CatalogError(f"{where}: a file with a shared copy must give its full 'sha256'.")
    return DataFile(
        path=path,
        url=url,
        size=size,
        sha256=sha256,
        sha256_prefix=prefix,
        shared=shared,
        note=_text(entry, "note", where, required=False),
    )
