"""Download a catalogued dataset's public files, resumably and verified.

Each file streams into `<file>.part`; an interrupted download resumes from there with an HTTP
Range request. A finished file is checked against the catalog's size and sha256 before it
takes its final name, so a file under its final name is always complete. Files already present
with the right checksum are skipped. Files with no direct link, and releases that sit behind a
form, a drive link or a cloud bucket, come back as manual steps for the caller to show.

The server is not trusted: the sizes it announces (Content-Length, the total of a 206's
Content-Range) must agree with each other, with the catalog and with the bytes that arrived; a
416 reply is never taken as proof that a partial file is complete; a redirect may only lead to
http(s). A file the catalog gives no checksum for is downloaded but marked unverified, with
the sha256 of what arrived, so the caller can say so.

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
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from ingest.catalog import DataFile, Dataset, FileSet, get_dataset, load_catalog
from ingest.errors import DataError, UsageError

# (file path, bytes done, total bytes or None when the server does not say)
ProgressCallback = Callable[[str, int, int | None], None]

CHUNK = 1 << 20
DEFAULT_TIMEOUT = 60.0
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

Status = Literal["downloaded", "resumed", "present", "manual"]
# What a file on disk was checked against: the catalog's full sha256, a published prefix of it,
# only the catalog's size, only the size the server announced, or nothing at all (a download
# cut short by a server that announces no size looks complete). All but the first two are
# "unverified".
Verification = Literal["sha256", "sha256 prefix", "size", "announced size", "none"]


class FetchError(DataError):
    """A dataset file could not be downloaded or verified."""


class DownloadFailed(FetchError):
    """The server or the network failed: dead link, HTTP error, refused or lost connection."""


class ChecksumMismatch(FetchError):
    """A file's sha256 or size differs from the catalog's."""


class UnsafeRedirect(FetchError):
    """The server redirected to something other than http(s) (ftp://, file://, ...)."""


class NoSample(UsageError):
    """`sample=True` for a dataset whose catalog entry has no sample."""


@dataclass(frozen=True)
class FileOutcome:
    file: DataFile
    path: Path  # where the file is (or would be, for a manual file)
    status: Status
    bytes: int = 0  # bytes transferred in this run
    sha256: str | None = None  # digest of the file on disk, when computed
    checked: Verification = "none"  # what the file was checked against

    @property
    def verified(self) -> bool:
        """The file matched a checksum the catalog publishes (all of it, or a prefix)."""
        return self.checked in ("sha256", "sha256 prefix")


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

    @property
    def unverified(self) -> tuple[FileOutcome, ...]:
        """Files on disk that no published checksum vouches for."""
        return tuple(f for f in self.files if f.status != "manual" and not f.verified)


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
    _require_http(ds, f, f.url)
    if target.exists():
        digest = _verify_existing(ds, f, target)
        return FileOutcome(f, target, "present", 0, digest, _checked(f))
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    if f.size is not None and offset > f.size:
        part.unlink()  # longer than the whole file: not a prefix of it
        offset = 0
    start, received, digest, announced = _download(ds, f, part, offset, progress, timeout)
    _check(ds, f, part, digest, f.url, announced)
    part.replace(target)
    status: Status = "resumed" if start else "downloaded"
    return FileOutcome(f, target, status, received, digest, _checked(f, announced))


def _checked(f: DataFile, announced: int | None = None) -> Verification:
    if f.sha256 is not None:
        return "sha256"
    if f.sha256_prefix is not None:
        return "sha256 prefix"
    if f.size is not None:
        return "size"
    return "announced size" if announced is not None else "none"


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
) -> tuple[int, int, str, int | None]:
    """Stream f.url into `part`, appending from `offset` when the server honours Range.

    Returns (byte the transfer started at, bytes received, sha256 of the whole file, the
    file's size as the server announced it or None)."""
    assert f.url is not None
    request = urllib.request.Request(f.url, headers={"User-Agent": _user_agent()})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = _OPENER.open(request, timeout=timeout)
    except _RedirectTo as e:
        raise UnsafeRedirect(
            f"Refused to download {f.path} of dataset '{ds.name}': {f.url} redirected to "
            f"{e.target}, and only http:// and https:// links are followed. Nothing was "
            f"downloaded from it. Check {ds.homepage} for the current link."
        ) from None
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:
            return _after_416(ds, f, part, offset, progress, timeout)
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
            verb = "resume" if offset else "download"
            raise DownloadFailed(
                f"Could not {verb} {f.path} of dataset '{ds.name}' from {f.url}: {e}. "
                + (
                    "The partial file was deleted: run the same fetch again to download it "
                    "from the start."
                    if offset
                    else "Nothing was kept."
                )
            ) from None
        if f.size is not None and total is not None and total != f.size:
            part.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"Size mismatch for {f.path} of dataset '{ds.name}' at {f.url}: the server "
                f"announces a file of {total:,} bytes, the catalog says {f.size:,}. Nothing was "
                f"kept. The file may have changed upstream: check {ds.homepage}, and report it "
                "if the catalog is out of date."
            )
        hasher = hashlib.sha256()
        if start:
            _hash_prefix(part, start, hasher)
        else:
            part.unlink(missing_ok=True)  # a server that ignored Range sends the whole file
        received = _stream(ds, f, response, part, hasher, start, total, progress)
    return start, received, hasher.hexdigest(), total


def _after_416(
    ds: Dataset,
    f: DataFile,
    part: Path,
    offset: int,
    progress: ProgressCallback | None,
    timeout: float,
) -> tuple[int, int, str, int | None]:
    """The server says there is nothing after `offset`. That is no proof the partial file is
    the whole file (a server can answer 416 to anything): only a published checksum is. Keep
    the partial file if it matches one, otherwise download the file again from byte 0."""
    if f.checksum_known and (f.size is None or f.size == offset):
        digest = _sha256_file(part)
        if _digest_ok(f, digest):
            return offset, 0, digest, offset
    part.unlink(missing_ok=True)
    return _download(ds, f, part, 0, progress, timeout)


def _resume_point(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """Where the body starts in the file, and the file's total size if the server says.

    A server that ignores Range answers 200 with the whole file: start again from byte 0.
    The sizes the server announces must agree with each other: a ValueError says how not."""
    length = response.headers.get("Content-Length")
    body = int(length) if length and length.isdigit() else None
    if response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        m = _CONTENT_RANGE.fullmatch(content_range.strip())
        if not m or int(m.group(1)) != offset:
            raise ValueError(f"asked for bytes from {offset:,}, got range {content_range!r}")
        first, last = int(m.group(1)), int(m.group(2))
        if last < first:
            raise ValueError(f"the server sent an empty range {content_range!r}")
        if body is not None and body != last - first + 1:
            raise ValueError(
                f"its Content-Length ({body:,}) disagrees with its Content-Range "
                f"{content_range!r} ({last - first + 1:,} bytes)"
            )
        if m.group(3) == "*":
            total = None if body is None else offset + body
        else:
            total = int(m.group(3))
            if last != total - 1:
                raise ValueError(
                    f"asked for the rest of the file from byte {offset:,}, got range "
                    f"{content_range!r}, which stops before the end of its {total:,} bytes"
                )
        start = offset
    elif response.status == 200:
        start, total = 0, body
    else:
        raise ValueError(f"the server answered HTTP {response.status} instead of the file")
    return start, total


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
    part: Path,
    hasher: hashlib._Hash,
    start: int,
    total: int | None,
    progress: ProgressCallback | None,
) -> int:
    """Append the body to `part`. Never more bytes than the server or the catalog announced
    (a server that keeps sending is cut off); fewer is an interrupted download."""
    limit = total if total is not None else f.size
    done = start
    if progress:
        progress(f.path, done, total)
    with part.open("ab") as out:
        try:
            while chunk := response.read(CHUNK):
                if limit is not None and done + len(chunk) > limit:
                    out.close()
                    part.unlink(missing_ok=True)
                    raise DownloadFailed(
                        f"Download of {f.path} (dataset '{ds.name}') from {f.url} was stopped: "
                        f"the server sent more than the {limit:,} bytes "
                        f"{'it announced' if total is not None else 'the catalog gives'}. "
                        "Nothing was kept."
                    )
                out.write(chunk)
                hasher.update(chunk)
                done += len(chunk)
                if progress:
                    progress(f.path, done, total)
            if total is not None and done < total:
                # http.client returns a short body without error when the server hangs up.
                raise http.client.IncompleteRead(b"", total - done)
        except (OSError, http.client.HTTPException) as e:
            # Keep the partial file: the next run resumes from it.
            out.flush()
            raise DownloadFailed(
                f"Download of {f.path} (dataset '{ds.name}') was interrupted after {done:,} "
                f"bytes ({_describe(e)}). The partial file is kept as {part}: run the same "
                "fetch again to resume."
            ) from None
    return done - start


def _describe(e: BaseException) -> str:
    if isinstance(e, http.client.IncompleteRead):
        return f"the connection closed {e.expected:,} bytes early"
    return f"{type(e).__name__}: {e}"


def _check(
    ds: Dataset, f: DataFile, part: Path, digest: str, url: str, announced: int | None
) -> None:
    size = part.stat().st_size
    problem = None
    if f.size is not None and size != f.size:
        problem = f"it has {size:,} bytes, the catalog says {f.size:,}"
    elif announced is not None and size != announced:
        problem = f"it has {size:,} bytes, the server announced {announced:,}"
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


def _require_http(ds: Dataset, f: DataFile, url: str) -> None:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise UnsafeRedirect(
            f"Refused to download {f.path} of dataset '{ds.name}' from {url}: only http:// "
            "and https:// links are followed."
        )


class _RedirectTo(Exception):
    """Raised inside urllib when a redirect leads elsewhere than http(s); never escapes."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only. urllib itself follows ftp:// and refuses file://
    with a bare HTTPError; both become one clear message here."""

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
    ) -> Any:
        location = headers.get("location") or headers.get("uri")
        if location:
            target = urljoin(req.full_url, location.strip())
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                fp.close()
                raise _RedirectTo(target)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def _user_agent() -> str:
    try:
        version = metadata.version("workload-traces")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"workload-traces/{version} (dataset fetch; python-urllib)"
