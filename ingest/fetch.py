"""Download a catalogued dataset's public files, resumably and verified.

Each file streams into `<file>.part`; an interrupted download resumes from there with an HTTP
Range request. A finished file is checked against the catalog's size and sha256 before it
takes its final name, so a file under its final name is always complete. Files already present
with the right checksum are skipped. Files with no direct link, and releases that sit behind a
form, a drive link or a cloud bucket, come back as manual steps for the caller to show.

Standard library only (urllib): a download should not need anything the toolkit does not.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, Literal
from urllib.parse import urlsplit

from ingest.catalog import DataFile, Dataset, FileSet, get_dataset, load_catalog
from ingest.errors import DataError, UsageError

# (file path, bytes done, total bytes or None when the server does not say)
ProgressCallback = Callable[[str, int, int | None], None]

CHUNK = 1 << 20
DEFAULT_TIMEOUT = 60.0
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

Status = Literal["downloaded", "resumed", "present", "manual"]


class FetchError(DataError):
    """A dataset file could not be downloaded or verified."""


class DownloadFailed(FetchError):
    """The server or the network failed: dead link, HTTP error, refused or lost connection."""


class ChecksumMismatch(FetchError):
    """A file's sha256 or size differs from the catalog's."""


class NoSample(UsageError):
    """`sample=True` for a dataset whose catalog entry has no sample."""


@dataclass(frozen=True)
class FileOutcome:
    file: DataFile
    path: Path  # where the file is (or would be, for a manual file)
    status: Status
    bytes: int = 0  # bytes transferred in this run
    sha256: str | None = None  # digest of the file on disk, when computed


@dataclass(frozen=True)
class FetchResult:
    dataset: Dataset
    dest: Path
    files: tuple[FileOutcome, ...]
    manual: tuple[str, ...]  # steps the user must do by hand; empty when nothing is left

    @property
    def complete(self) -> bool:
        return not self.manual

    def count(self, status: Status) -> int:
        return sum(1 for f in self.files if f.status == status)


def fetch(
    dataset: str | Dataset,
    dest: Path,
    progress: ProgressCallback | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sample: bool = False,
    catalog: Path | None = None,
) -> FetchResult:
    """Download every directly downloadable file of `dataset` (its release, or its sample)
    into `dest`, keeping the catalog's relative paths. Returns what happened per file and the
    manual steps for the rest. Raises DownloadFailed, ChecksumMismatch or UnknownDataset."""
    ds = dataset if isinstance(dataset, Dataset) else get_dataset(dataset, load_catalog(catalog))
    fileset = _fileset(ds, sample)
    outcomes: list[FileOutcome] = []
    for f in fileset.files:
        target = dest / f.path
        if f.url is None:
            outcomes.append(FileOutcome(f, target, "manual"))
        else:
            outcomes.append(_fetch_file(ds, f, target, progress, timeout))
    return FetchResult(ds, dest, tuple(outcomes), manual_steps(ds, sample))


def default_dest(name: str) -> Path:
    """Where `traces fetch NAME` puts files when no --dest is given: ./data/NAME."""
    return Path("data") / name


def manual_steps(dataset: Dataset, sample: bool = False) -> tuple[str, ...]:
    """What the user must do by hand: the catalog's steps, then each file with no link."""
    fileset = _fileset(dataset, sample)
    by_hand = [f for f in fileset.files if f.url is None]
    steps = list(fileset.manual)
    if by_hand and not steps:
        steps.append(f"Get these files by hand from {dataset.homepage}:")
    steps += [f"  {f.path}" + (f" ({f.note})" if f.note else "") for f in by_hand]
    if steps and not sample and dataset.sample is not None:
        steps.append(
            f"A small public sample downloads directly: traces fetch {dataset.name} --sample"
        )
    return tuple(steps)


def _fileset(ds: Dataset, sample: bool) -> FileSet:
    if not sample:
        return ds.release
    if ds.sample is None:
        raise NoSample(
            f"Dataset '{ds.name}' has no separate sample in the catalog. "
            f"Fetch its release instead: traces fetch {ds.name}"
        )
    return ds.sample


def _fetch_file(
    ds: Dataset, f: DataFile, target: Path, progress: ProgressCallback | None, timeout: float
) -> FileOutcome:
    assert f.url is not None
    if target.exists():
        digest = _verify_existing(ds, f, target)
        return FileOutcome(f, target, "present", 0, digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    if f.size is not None and offset > f.size:
        part.unlink()  # longer than the whole file: not a prefix of it
        offset = 0
    start, received, digest = _download(ds, f, part, offset, progress, timeout)
    _check(ds, f, part, digest, f.url)
    part.replace(target)
    return FileOutcome(f, target, "resumed" if start else "downloaded", received, digest)


def _verify_existing(ds: Dataset, f: DataFile, target: Path) -> str | None:
    """A file under its final name passed verification once; re-check it cheaply and safely.

    A mismatch is not repaired silently: the file may be one the user placed there."""
    size = target.stat().st_size
    if f.size is not None and size != f.size:
        raise ChecksumMismatch(
            f"{target} exists but has {size:,} bytes; the catalog entry '{ds.name}' says "
            f"{f.size:,}. Delete it and run the fetch again to download a fresh copy."
        )
    if not f.checksum_known:
        return None
    digest = _sha256_file(target)
    if not _digest_ok(f, digest):
        raise ChecksumMismatch(
            f"{target} exists but its sha256 is {digest}; the catalog entry '{ds.name}' "
            f"expects {_expected(f)}. Delete it and run the fetch again to download a fresh copy."
        )
    return digest


def _download(
    ds: Dataset,
    f: DataFile,
    part: Path,
    offset: int,
    progress: ProgressCallback | None,
    timeout: float,
) -> tuple[int, int, str]:
    """Stream f.url into `part`, appending from `offset` when the server honours Range.

    Returns (byte the transfer started at, bytes received, sha256 of the whole file)."""
    assert f.url is not None
    request = urllib.request.Request(f.url, headers={"User-Agent": _user_agent()})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:
            # Nothing left after `offset`: the partial file already holds the whole file.
            return offset, 0, _sha256_file(part)
        part.unlink(missing_ok=True)
        raise DownloadFailed(_http_message(ds, f, e.code, e.reason)) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        part.unlink(missing_ok=True)
        raise DownloadFailed(_connect_message(ds, f, e)) from None
    with response:
        try:
            start, total = _resume_point(response, offset)
        except ValueError as e:
            part.unlink(missing_ok=True)
            raise DownloadFailed(
                f"Could not resume {f.path} of dataset '{ds.name}': {e}. The partial file was "
                "deleted: run the same fetch again to download it from the start."
            ) from None
        hasher = hashlib.sha256()
        if start:
            _hash_prefix(part, start, hasher)
        with part.open("ab" if start else "wb") as out:
            received = _stream(ds, f, response, out, hasher, start, total, progress)
    return start, received, hasher.hexdigest()


def _resume_point(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """Where the body starts in the file, and the file's total size if the server says.

    A server that ignores Range answers 200 with the whole file: start again from byte 0."""
    length = response.headers.get("Content-Length")
    body = int(length) if length and length.isdigit() else None
    if response.status != 206:
        return 0, body
    content_range = response.headers.get("Content-Range", "")
    m = _CONTENT_RANGE.match(content_range)
    if not m or int(m.group(1)) != offset:
        raise ValueError(f"asked for bytes from {offset:,}, got range {content_range!r}")
    if m.group(3) != "*":
        return offset, int(m.group(3))
    return offset, None if body is None else offset + body


def _hash_prefix(part: Path, upto: int, hasher: hashlib._Hash) -> None:
    with part.open("rb") as src:
        remaining = upto
        while remaining > 0:
            chunk = src.read(min(CHUNK, remaining))
            if not chunk:
                break
            hasher.update(chunk)
            remaining -= len(chunk)


def _stream(
    ds: Dataset,
    f: DataFile,
    response: http.client.HTTPResponse,
    out: BinaryIO,
    hasher: hashlib._Hash,
    start: int,
    total: int | None,
    progress: ProgressCallback | None,
) -> int:
    done = start
    if progress:
        progress(f.path, done, total)
    try:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            hasher.update(chunk)
            done += len(chunk)
            if progress:
                progress(f.path, done, total)
        if total is not None and done < total:
            # http.client returns a short body without error when the server hangs up early.
            raise http.client.IncompleteRead(b"", total - done)
    except (OSError, http.client.HTTPException) as e:
        # Keep the partial file: the next run resumes from it.
        out.flush()
        raise DownloadFailed(
            f"Download of {f.path} (dataset '{ds.name}') was interrupted after {done:,} bytes "
            f"({_describe(e)}). The partial file is kept as {out.name}: run the same fetch "
            "again to resume."
        ) from None
    return done - start


def _describe(e: BaseException) -> str:
    if isinstance(e, http.client.IncompleteRead):
        return f"the connection closed {e.expected:,} bytes early"
    return f"{type(e).__name__}: {e}"


def _check(ds: Dataset, f: DataFile, part: Path, digest: str, url: str) -> None:
    size = part.stat().st_size
    problem = None
    if f.size is not None and size != f.size:
        problem = f"it has {size:,} bytes, the catalog says {f.size:,}"
    elif not _digest_ok(f, digest):
        problem = f"its sha256 is {digest}, the catalog expects {_expected(f)}"
    if problem:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"Checksum mismatch for {f.path} of dataset '{ds.name}' downloaded from {url}: "
            f"{problem}. The download was deleted. The file may have changed upstream: check "
            f"{ds.homepage}, and report it if the catalog is out of date."
        )


def _digest_ok(f: DataFile, digest: str) -> bool:
    if f.sha256 is not None:
        return digest == f.sha256
    if f.sha256_prefix is not None:
        return digest.startswith(f.sha256_prefix)
    return True


def _expected(f: DataFile) -> str:
    return f.sha256 or f"a digest starting {f.sha256_prefix} (only a prefix is known)"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _http_message(ds: Dataset, f: DataFile, code: int, reason: object) -> str:
    why = "the link is dead or has moved" if code in (404, 410) else "the server refused it"
    return (
        f"Could not download {f.path} of dataset '{ds.name}': {f.url} answered HTTP {code} "
        f"{reason} ({why}). Nothing was kept. Check {ds.homepage} for the current link."
    )


def _connect_message(ds: Dataset, f: DataFile, e: BaseException) -> str:
    reason = getattr(e, "reason", e)
    host = urlsplit(f.url or "").netloc
    if isinstance(reason, socket.timeout | TimeoutError):
        what = "timed out"
    elif isinstance(reason, ConnectionRefusedError):
        what = "refused the connection"
    else:
        what = f"could not be reached ({reason})"
    return (
        f"Could not download {f.path} of dataset '{ds.name}': {host} {what}. Nothing was kept. "
        "Check your network connection, or the link at " + ds.homepage + "."
    )


def _user_agent() -> str:
    try:
        version = metadata.version("workload-traces")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"workload-traces/{version} (dataset fetch; python-urllib)"
