"""`fetch` against a local HTTP server (127.0.0.1, port 0): no test touches the network."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingest.catalog import DataFile, Dataset, get_dataset, load_catalog, parse_catalog
from ingest.errors import DataError
from ingest.fetch import (
    ChecksumMismatch,
    DownloadFailed,
    NoSample,
    UnsafeRedirect,
    fetch,
    manual_steps,
)


class FileServer(ThreadingHTTPServer):
    """Serves `files` (URL path -> bytes); honours `Range: bytes=N-` unless told not to."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}  # URL path -> path to send a 302 to
        self.requests: list[tuple[str, str | None]] = []
        self.honour_range = True
        self.cut_after: int | None = None  # send only this many body bytes, then hang up
        # URL path -> (status, headers, body): a lying server answers exactly this, whatever
        # was asked (no Content-Length header unless given: the body ends when it hangs up).
        self.canned: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class RangeHandler(BaseHTTPRequestHandler):
    server: FileServer

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        self.server.requests.append((self.path, rng))
        if self.path in self.server.canned:
            status, headers, canned = self.server.canned[self.path]
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(canned)
            return
        if self.path in self.server.redirects:
            target = self.server.redirects[self.path]
            self.send_response(302)
            self.send_header("Location", target if ":" in target else self.server.url(target))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and self.server.honour_range:
            start = int(m.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        cut = self.server.cut_after
        self.wfile.write(chunk if cut is None else chunk[:cut])

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dlrm(shared: Path, server: FileServer) -> tuple[Dataset, bytes]:
    """The real catalog entry of the DLRM trace, pointed at the local server, which serves the
    real 2.1 MB sample (identical to the release file, so the catalog's sha256 applies)."""
    ds = get_dataset("alibaba_dlrm_2025", load_catalog())
    (f,) = ds.release.files
    assert f.shared is not None
    body = (shared / f.shared).read_bytes()
    server.files["/dlrm.csv"] = body
    local = dataclasses.replace(f, url=server.url("/dlrm.csv"))
    release = dataclasses.replace(ds.release, files=(local,))
    return dataclasses.replace(ds, release=release), body


def _dataset(files: list[dict[str, object]], **release: object) -> Dataset:
    raw = {
        "dataset": [
            {
                "name": "tiny",
                "family": "datacenter",
                "title": "Tiny",
                "description": "d",
                "citation": "c",
                "licence": "CC-BY-4.0",
                "homepage": "https://example.org/tiny",
                "adapters": ["swf"],
                "release": {"files": files, **release},
            }
        ]
    }
    return parse_catalog(raw)[0]


def test_good_download_is_verified_and_reports_progress(
    dlrm: tuple[Dataset, bytes], tmp_path: Path
) -> None:
    ds, body = dlrm
    calls: list[tuple[str, int, int | None]] = []
    result = fetch(ds, tmp_path, progress=lambda *a: calls.append(a), timeout=5)
    (outcome,) = result.files
    assert outcome.status == "downloaded" and outcome.bytes == len(body) == 2118900
    assert outcome.sha256 == ds.release.files[0].sha256
    target = tmp_path / "disaggregated_DLRM_trace.csv"
    assert target.read_bytes() == body
    assert not target.with_name(target.name + ".part").exists()
    assert result.complete and result.manual == ()
    done = [c[1] for c in calls]
    assert done == sorted(done) and done[0] == 0 and done[-1] == len(body)
    assert {c[2] for c in calls} == {len(body)}


def test_partial_download_resumes_with_a_range_request(
    dlrm: tuple[Dataset, bytes], server: FileServer, tmp_path: Path
) -> None:
    ds, body = dlrm
    part = tmp_path / "disaggregated_DLRM_trace.csv.part"
    part.write_bytes(body[:1_000_000])
    (outcome,) = fetch(ds, tmp_path, timeout=5).files
    assert server.requests == [("/dlrm.csv", "bytes=1000000-")]
    assert outcome.status == "resumed" and outcome.bytes == len(body) - 1_000_000
    assert (tmp_path / "disaggregated_DLRM_trace.csv").read_bytes() == body
    assert not part.exists()


def test_resume_follows_a_redirect_with_the_range_header(
    dlrm: tuple[Dataset, bytes], server: FileServer, tmp_path: Path
) -> None:
    # GitHub's /raw/ links redirect (to raw.githubusercontent.com, or to the LFS copy).
    ds, body = dlrm
    server.redirects["/raw/dlrm.csv"] = "/dlrm.csv"
    (f,) = ds.release.files
    moved = dataclasses.replace(f, url=server.url("/raw/dlrm.csv"))
    ds = dataclasses.replace(ds, release=dataclasses.replace(ds.release, files=(moved,)))
    (tmp_path / "disaggregated_DLRM_trace.csv.part").write_bytes(body[:5000])
    (outcome,) = fetch(ds, tmp_path, timeout=5).files
    assert server.requests == [("/raw/dlrm.csv", "bytes=5000-"), ("/dlrm.csv", "bytes=5000-")]
    assert outcome.status == "resumed"
    assert (tmp_path / "disaggregated_DLRM_trace.csv").read_bytes() == body


def test_server_that_ignores_range_gets_a_fresh_download(
    dlrm: tuple[Dataset, bytes], server: FileServer, tmp_path: Path
) -> None:
    ds, body = dlrm
    server.honour_range = False
    (tmp_path / "disaggregated_DLRM_trace.csv.part").write_bytes(b"garbage" * 1000)
    (outcome,) = fetch(ds, tmp_path, timeout=5).files
    assert outcome.status == "downloaded"
    assert (tmp_path / "disaggregated_DLRM_trace.csv").read_bytes() == body


def test_complete_partial_file_is_finished_without_refetching(
    dlrm: tuple[Dataset, bytes], tmp_path: Path
) -> None:
    ds, body = dlrm
    (tmp_path / "disaggregated_DLRM_trace.csv.part").write_bytes(body)
    (outcome,) = fetch(ds, tmp_path, timeout=5).files  # the server answers 416
    assert outcome.status == "resumed" and outcome.bytes == 0
    assert (tmp_path / "disaggregated_DLRM_trace.csv").read_bytes() == body


def test_interrupted_download_keeps_the_partial_and_resumes(
    dlrm: tuple[Dataset, bytes], server: FileServer, tmp_path: Path
) -> None:
    ds, body = dlrm
    server.cut_after = 300_000
    with pytest.raises(DownloadFailed) as e:
        fetch(ds, tmp_path, timeout=5)
    assert "interrupted after 300,000 bytes" in str(e.value)
    assert "run the same fetch again to resume" in str(e.value)
    part = tmp_path / "disaggregated_DLRM_trace.csv.part"
    assert part.stat().st_size == 300_000
    server.cut_after = None
    (outcome,) = fetch(ds, tmp_path, timeout=5).files
    assert server.requests[-1] == ("/dlrm.csv", "bytes=300000-")
    assert outcome.status == "resumed"
    assert (tmp_path / "disaggregated_DLRM_trace.csv").read_bytes() == body


def test_checksum_mismatch_deletes_the_download(server: FileServer, tmp_path: Path) -> None:
    server.files["/a.csv"] = b"x,y\n1,2\n"
    wrong = "0" * 64
    ds = _dataset([{"path": "a.csv", "url": server.url("/a.csv"), "sha256": wrong}])
    with pytest.raises(ChecksumMismatch) as e:
        fetch(ds, tmp_path, timeout=5)
    message = str(e.value)
    assert message.startswith("Checksum mismatch for a.csv of dataset 'tiny'")
    assert f"the catalog expects {wrong}" in message
    assert hashlib.sha256(b"x,y\n1,2\n").hexdigest() in message
    assert "The download was deleted" in message and "https://example.org/tiny" in message
    assert isinstance(e.value, DataError) and e.value.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_size_mismatch_is_refused(server: FileServer, tmp_path: Path) -> None:
    server.files["/a.csv"] = b"x,y\n1,2\n"
    ds = _dataset([{"path": "a.csv", "url": server.url("/a.csv"), "size": 99}])
    with pytest.raises(ChecksumMismatch, match="announces a file of 8 bytes, the catalog says 99"):
        fetch(ds, tmp_path, timeout=5)
    assert not (tmp_path / "a.csv.part").exists()
    assert server.requests == [("/a.csv", None)]


def test_prefix_checksum_is_enforced(server: FileServer, tmp_path: Path) -> None:
    server.files["/a.csv"] = b"x,y\n1,2\n"
    good = hashlib.sha256(b"x,y\n1,2\n").hexdigest()[:12]
    ok = _dataset([{"path": "a.csv", "url": server.url("/a.csv"), "sha256_prefix": good}])
    assert fetch(ok, tmp_path, timeout=5).files[0].status == "downloaded"
    bad = _dataset([{"path": "b.csv", "url": server.url("/a.csv"), "sha256_prefix": "ffff"}])
    with pytest.raises(ChecksumMismatch, match="only a prefix is known"):
        fetch(bad, tmp_path, timeout=5)


def test_dead_link_is_reported_and_the_partial_removed(server: FileServer, tmp_path: Path) -> None:
    ds = _dataset([{"path": "gone.csv", "url": server.url("/gone.csv")}])
    (tmp_path / "gone.csv.part").write_bytes(b"stale")
    with pytest.raises(DownloadFailed) as e:
        fetch(ds, tmp_path, timeout=5)
    assert "Could not download gone.csv of dataset 'tiny'" in str(e.value)
    assert "answered HTTP 404 Not Found (the link is dead or has moved)" in str(e.value)
    assert "Check https://example.org/tiny for the current link" in str(e.value)
    assert e.value.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_refused_connection_is_reported_and_the_partial_removed(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ds = _dataset([{"path": "a.csv", "url": f"http://127.0.0.1:{port}/a.csv"}])
    (tmp_path / "a.csv.part").write_bytes(b"stale")
    with pytest.raises(DownloadFailed, match=f"127.0.0.1:{port} refused the connection"):
        fetch(ds, tmp_path, timeout=5)
    assert not (tmp_path / "a.csv.part").exists()


def test_file_already_present_is_skipped(
    dlrm: tuple[Dataset, bytes], server: FileServer, tmp_path: Path
) -> None:
    ds, body = dlrm
    (tmp_path / "disaggregated_DLRM_trace.csv").write_bytes(body)
    (outcome,) = fetch(ds, tmp_path, timeout=5).files
    assert outcome.status == "present" and outcome.bytes == 0
    assert server.requests == []


def test_present_file_with_another_checksum_is_left_alone(
    dlrm: tuple[Dataset, bytes], server: FileServer, tmp_path: Path
) -> None:
    ds, body = dlrm
    target = tmp_path / "disaggregated_DLRM_trace.csv"
    target.write_bytes(body[:-1] + b"?")
    with pytest.raises(ChecksumMismatch, match=r"exists but its sha256 is .* Delete it"):
        fetch(ds, tmp_path, timeout=5)
    assert target.read_bytes() == body[:-1] + b"?"
    assert server.requests == []


def test_manual_steps_are_returned_without_any_request(tmp_path: Path) -> None:
    ds = _dataset(
        [{"path": "behind_a_form.tgz", "note": "link sent after a survey"}],
        manual=["Fill in the survey at https://example.org/form."],
    )
    result = fetch(ds, tmp_path / "out", timeout=5)
    assert [o.status for o in result.files] == ["manual"]
    assert result.manual == (
        "Fill in the survey at https://example.org/form.",
        "  behind_a_form.tgz (link sent after a survey)",
    )
    assert not result.complete and not (tmp_path / "out").exists()
    assert manual_steps(ds) == result.manual


def test_file_without_link_and_no_steps_points_to_the_homepage() -> None:
    ds = _dataset([{"path": "x.zip"}])
    steps = ("Get these files by hand from https://example.org/tiny:", "  x.zip")
    assert manual_steps(ds) == steps


def test_real_manual_dataset_returns_its_steps(tmp_path: Path) -> None:
    result = fetch("google_2011", tmp_path, timeout=5)
    assert result.files == () and any("gsutil" in s for s in result.manual)
    assert result.manual[-1].endswith("traces fetch google_2011 --sample")


def _catalog_entry(server: FileServer, files: str) -> str:
    """A one-dataset catalog whose release is served by `server` under /data/."""
    return (
        """
[[dataset]]
name = "local"
family = "llm_serving"
title = "t"
description = "d"
citation = "c"
licence = "l"
homepage = "https://example.org"
adapters = ["burstgpt"]
[dataset.release]
"""
        + f'base_url = "{server.url("/data/")}"\n'
        + files
        + "\n"
    )


def test_fetch_by_name_from_a_catalog_file(server: FileServer, tmp_path: Path) -> None:
    body = b"Timestamp,Model\n0,ChatGPT\n"
    server.files["/data/trace.csv"] = body
    digest = hashlib.sha256(body).hexdigest()
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        _catalog_entry(
            server,
            f"""files = [{{ path = "trace.csv", sha256 = "{digest}", size = {len(body)} }}]""",
        )
    )
    result = fetch("local", tmp_path / "dl", catalog=catalog, timeout=5)
    assert (tmp_path / "dl" / "trace.csv").read_bytes() == body
    assert result.count("downloaded") == 1
    again = fetch("local", tmp_path / "dl", catalog=catalog, timeout=5)
    assert again.count("present") == 1 and len(server.requests) == 1


def test_sample_set_and_missing_sample(server: FileServer, tmp_path: Path) -> None:
    ds = _dataset([{"path": "a.csv"}])
    with pytest.raises(NoSample, match="has no separate sample") as e:
        fetch(ds, tmp_path, sample=True)
    assert e.value.exit_code == 2
    body = b"1 2 3\n"
    server.files["/s.swf"] = body
    sample = dataclasses.replace(
        ds.release, files=(DataFile(path="s.swf", url=server.url("/s.swf")),), manual=()
    )
    with_sample = dataclasses.replace(ds, sample=sample)
    result = fetch(with_sample, tmp_path, sample=True, timeout=5)
    assert result.files[0].status == "downloaded" and (tmp_path / "s.swf").read_bytes() == body


def test_cli_fetch_downloads_then_refuses_a_bad_checksum(
    cli, server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`traces fetch` end to end: a good file lands, a tampered one fails with exit 1."""
    body = b"Timestamp,Model\n0,ChatGPT\n"
    server.files["/data/trace.csv"] = body
    catalog = tmp_path / "catalog.toml"
    entry = """
[[dataset]]
name = "local"
family = "llm_serving"
title = "t"
description = "d"
citation = "c"
licence = "l"
homepage = "https://example.org"
adapters = ["burstgpt"]
[dataset.release]
base_url = "{url}"
files = [{{ path = "trace.csv", sha256 = "{digest}" }}]
"""
    catalog.write_text(
        entry.format(url=server.url("/data/"), digest=hashlib.sha256(body).hexdigest())
    )
    monkeypatch.setenv("TRACES_CATALOG", str(catalog))
    code, out, err = cli("fetch", "local", "--dest", tmp_path / "dl")
    assert code == 0, err
    assert (tmp_path / "dl" / "trace.csv").read_bytes() == body
    assert "traces ingest" in out
    catalog.write_text(entry.format(url=server.url("/data/"), digest="0" * 64))
    code, _, err = cli("fetch", "local", "--dest", tmp_path / "other")
    assert code == 1 and "trace.csv" in err
    assert not any((tmp_path / "other").glob("trace.csv*"))


def test_cli_datasets_and_unknown_name(cli) -> None:
    code, out, _ = cli("datasets")
    assert code == 0 and "azure_llm_2023" in out and "google_2019" in out
    code, _, err = cli("fetch", "azur_llm_2023")
    assert code == 2 and "Did you mean 'azure_llm_2023'" in err


# --- a lying server: sizes, 416, redirects, and files the catalog has no checksum for ------


def _one(server: FileServer, path: str, **meta: object) -> Dataset:
    return _dataset([{"path": "a.csv", "url": server.url(path), **meta}])


BODY = b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000))  # 20 KB, no published checksum


def test_206_total_that_differs_from_the_catalog_size_is_refused(
    server: FileServer, tmp_path: Path
) -> None:
    server.canned["/a.csv"] = (
        206,
        {"Content-Range": f"bytes 100-{len(BODY) - 1}/{len(BODY)}"},
        BODY[100:],
    )
    (tmp_path / "a.csv.part").write_bytes(BODY[:100])
    ds = _one(server, "/a.csv", size=len(BODY) + 5)
    with pytest.raises(ChecksumMismatch) as e:
        fetch(ds, tmp_path, timeout=5)
    assert f"announces a file of {len(BODY):,} bytes, the catalog says {len(BODY) + 5:,}" in str(
        e.value
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content_range", "length", "problem"),
    [
        # The range stops short of the end: the body would be taken as the file's tail.
        ("bytes 100-999/20000", 900, "stops before the end of its 20,000 bytes"),
        # Content-Length and Content-Range disagree about the body.
        ("bytes 100-19999/20000", 500, "Content-Length (500) disagrees with its Content-Range"),
        # Not the range asked for.
        ("bytes 0-19999/20000", 20000, "asked for bytes from 100, got range"),
    ],
)
def test_inconsistent_206_is_refused_and_the_partial_deleted(
    server: FileServer, tmp_path: Path, content_range: str, length: int, problem: str
) -> None:
    server.canned["/a.csv"] = (
        206,
        {"Content-Range": content_range, "Content-Length": str(length)},
        b"x" * length,
    )
    (tmp_path / "a.csv.part").write_bytes(b"y" * 100)
    with pytest.raises(DownloadFailed) as e:
        fetch(_one(server, "/a.csv"), tmp_path, timeout=5)
    assert problem in str(e.value) and "Could not resume a.csv of dataset 'tiny'" in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_short_body_of_an_entry_without_size_or_checksum_is_not_a_file(
    server: FileServer, tmp_path: Path
) -> None:
    # The server announces 20,000 bytes, sends 7,000 and hangs up.
    server.canned["/a.csv"] = (200, {"Content-Length": str(len(BODY))}, BODY[:7000])
    with pytest.raises(DownloadFailed, match="interrupted after 7,000 bytes"):
        fetch(_one(server, "/a.csv"), tmp_path, timeout=5)
    assert not (tmp_path / "a.csv").exists()
    assert (tmp_path / "a.csv.part").read_bytes() == BODY[:7000]


def test_short_206_of_an_entry_without_size_or_checksum_is_not_a_file(
    server: FileServer, tmp_path: Path
) -> None:
    rest = f"bytes 100-{len(BODY) - 1}/{len(BODY)}"
    server.canned["/a.csv"] = (
        206,
        {"Content-Range": rest, "Content-Length": str(len(BODY) - 100)},
        BODY[100:5000],
    )
    (tmp_path / "a.csv.part").write_bytes(BODY[:100])
    with pytest.raises(DownloadFailed, match="interrupted after 5,000 bytes"):
        fetch(_one(server, "/a.csv"), tmp_path, timeout=5)
    assert not (tmp_path / "a.csv").exists()


def test_server_that_keeps_sending_past_the_catalog_size_is_cut_off(
    server: FileServer, tmp_path: Path
) -> None:
    # No Content-Length: only the catalog's size bounds the body.
    server.canned["/a.csv"] = (200, {}, BODY * 5)
    with pytest.raises(DownloadFailed, match=f"sent more than the {len(BODY):,} bytes the cat"):
        fetch(_one(server, "/a.csv", size=len(BODY)), tmp_path, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_416_is_not_taken_as_a_complete_file_without_a_checksum(
    server: FileServer, tmp_path: Path
) -> None:
    server.files["/a.csv"] = BODY
    (tmp_path / "a.csv.part").write_bytes(b"stale bytes from another file")
    server.canned["/a.csv"] = (416, {"Content-Range": "bytes */29", "Content-Length": "0"}, b"")
    ds = _one(server, "/a.csv")
    # A lying server answers every ranged request with 416: the partial file is not kept as
    # the file; fetch asks again for the whole file (which this server also refuses).
    with pytest.raises(DownloadFailed, match="answered HTTP 416"):
        fetch(ds, tmp_path, timeout=5)
    assert server.requests == [("/a.csv", "bytes=29-"), ("/a.csv", None)]
    assert list(tmp_path.iterdir()) == []
    # An honest server: the 416 makes fetch download the whole file again, from byte 0.
    del server.canned["/a.csv"]
    server.requests.clear()
    (tmp_path / "a.csv.part").write_bytes(BODY)
    (outcome,) = fetch(ds, tmp_path, timeout=5).files
    assert server.requests == [("/a.csv", f"bytes={len(BODY)}-"), ("/a.csv", None)]
    assert outcome.status == "downloaded" and outcome.bytes == len(BODY)
    assert (tmp_path / "a.csv").read_bytes() == BODY


def test_416_with_a_partial_that_fails_the_checksum_downloads_again(
    server: FileServer, tmp_path: Path
) -> None:
    server.files["/a.csv"] = BODY
    digest = hashlib.sha256(BODY).hexdigest()
    (tmp_path / "a.csv.part").write_bytes(b"z" * (len(BODY) + 10))  # server answers 416
    (outcome,) = fetch(_one(server, "/a.csv", sha256=digest), tmp_path, timeout=5).files
    assert server.requests == [("/a.csv", f"bytes={len(BODY) + 10}-"), ("/a.csv", None)]
    assert outcome.status == "downloaded" and outcome.sha256 == digest and outcome.verified
    assert (tmp_path / "a.csv").read_bytes() == BODY


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/a.csv", "file:///etc/passwd"])
def test_redirect_that_is_not_http_is_refused(
    server: FileServer, tmp_path: Path, target: str
) -> None:
    server.redirects["/a.csv"] = target
    with pytest.raises(UnsafeRedirect) as e:
        fetch(_one(server, "/a.csv"), tmp_path, timeout=5)
    assert str(e.value) == (
        f"Refused to download a.csv of dataset 'tiny': {server.url('/a.csv')} redirected to "
        f"{target}, and only http:// and https:// links are followed. Nothing was downloaded "
        "from it. Check https://example.org/tiny for the current link."
    )
    assert e.value.exit_code == 1
    assert server.requests == [("/a.csv", None)]
    assert list(tmp_path.iterdir()) == []


def test_relative_http_redirect_is_still_followed(server: FileServer, tmp_path: Path) -> None:
    server.files["/b.csv"] = BODY
    server.redirects["/a.csv"] = "/b.csv"
    (outcome,) = fetch(_one(server, "/a.csv"), tmp_path, timeout=5).files
    assert outcome.status == "downloaded" and (tmp_path / "a.csv").read_bytes() == BODY


def test_reply_that_is_neither_200_nor_206_is_refused(server: FileServer, tmp_path: Path) -> None:
    server.canned["/a.csv"] = (203, {"Content-Length": "4"}, b"oops")
    with pytest.raises(DownloadFailed, match="answered HTTP 203 instead of the file"):
        fetch(_one(server, "/a.csv"), tmp_path, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_files_without_a_published_checksum_are_marked_unverified(
    server: FileServer, tmp_path: Path
) -> None:
    server.files["/a.csv"] = BODY
    server.canned["/no-length.csv"] = (200, {}, BODY)  # ends when the server hangs up
    digest = hashlib.sha256(BODY).hexdigest()
    cases: dict[str, dict[str, object]] = {
        "none.csv": {"url": server.url("/no-length.csv")},
        "announced.csv": {},
        "size.csv": {"size": len(BODY)},
        "prefix.csv": {"sha256_prefix": digest[:12]},
        "full.csv": {"sha256": digest},
    }
    ds = _dataset([{"path": p, "url": server.url("/a.csv"), **m} for p, m in cases.items()])
    result = fetch(ds, tmp_path, timeout=5)
    checked = {o.path.name: (o.checked, o.verified, o.sha256) for o in result.files}
    assert checked == {
        "none.csv": ("none", False, digest),
        "announced.csv": ("announced size", False, digest),
        "size.csv": ("size", False, digest),
        "prefix.csv": ("sha256 prefix", True, digest),
        "full.csv": ("sha256", True, digest),
    }
    unverified = ["none.csv", "announced.csv", "size.csv"]
    assert [o.path.name for o in result.unverified] == unverified
    # Present files keep their mark (the server's word is not remembered).
    again = fetch(ds, tmp_path, timeout=5)
    assert [o.status for o in again.files] == ["present"] * 5
    assert [o.path.name for o in again.unverified] == unverified
    assert [o.checked for o in again.files] == ["none", "none", "size", "sha256 prefix", "sha256"]


def test_cli_fetch_says_which_files_are_unverified(
    cli, server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.files["/data/trace.csv"] = BODY
    small = b"x\n"
    server.files["/data/checked.csv"] = small
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        _catalog_entry(
            server,
            f"""files = [
  {{ path = "trace.csv" }},
  {{ path = "checked.csv", sha256 = "{hashlib.sha256(small).hexdigest()}" }},
]""",
        )
    )
    monkeypatch.setenv("TRACES_CATALOG", str(catalog))
    code, out, err = cli("fetch", "local", "--dest", tmp_path / "dl")
    assert code == 0, err
    lines = out.splitlines()
    assert f"downloaded  {tmp_path / 'dl' / 'trace.csv'}  UNVERIFIED" in lines
    assert f"downloaded  {tmp_path / 'dl' / 'checked.csv'}" in lines
    assert "1 file(s) UNVERIFIED: the catalog publishes no checksum" in out
    digest = hashlib.sha256(BODY).hexdigest()
    trace = tmp_path / "dl" / "trace.csv"
    assert f"  {digest}  {trace}  (size as the server announced it)" in lines
    assert "Unexpected error" not in out + err


def test_cli_fetch_refused_redirect_is_a_message_not_a_crash(
    cli, server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.redirects["/data/trace.csv"] = "ftp://127.0.0.1/trace.csv"
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(_catalog_entry(server, """files = [{ path = "trace.csv" }]"""))
    monkeypatch.setenv("TRACES_CATALOG", str(catalog))
    code, out, err = cli("fetch", "local", "--dest", tmp_path / "dl")
    assert code == 1
    assert "redirected to ftp://127.0.0.1/trace.csv, and only http:// and https://" in err
    assert "Unexpected error" not in out + err
