"""A lake copied to object storage is read in place: `traces report --lake s3://bucket/lake`.

An S3-compatible server (moto's, on 127.0.0.1) holds a copy of the sample lake; the report
read from it must be the report of the local lake, byte for byte.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis import report
from analysis.db import LakeDB, dumps

TRACES = ["azure_llm_2023_conv", "google_2011_jobs", "azure_functions_2019"]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto accepts any credentials; these keep the real ones (if any) out of the test
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="module")
def s3_lake(s3_endpoint: str, sample_lake: Path) -> str:
    """The sample lake copied to s3://lakes/samples; its URI for pyarrow."""
    from pyarrow import fs

    s3 = fs.S3FileSystem(
        endpoint_override=s3_endpoint,
        scheme="http",
        region="us-east-1",
        allow_bucket_creation=True,
        access_key="testing",
        secret_key="testing",
    )
    s3.create_dir("lakes")
    fs.copy_files(str(sample_lake), "lakes/samples", destination_filesystem=s3)
    return f"s3://lakes/samples?endpoint_override={s3_endpoint}&scheme=http&region=us-east-1"


@pytest.mark.slow
def test_the_report_of_the_s3_copy_is_the_local_report(s3_lake: str, sample_lake: Path) -> None:
    remote_db = LakeDB(s3_lake)
    local_db = LakeDB(sample_lake)
    try:
        assert remote_db.traces() == local_db.traces()
        assert remote_db.lake.root == "s3://lakes/samples"  # no options, no credentials
        remote = dumps(report.to_json(report.build_report(remote_db, TRACES)))
        local = dumps(report.to_json(report.build_report(local_db, TRACES)))
    finally:
        remote_db.close()
        local_db.close()
    assert remote == local
    assert json.loads(remote)["traces"]["azure_llm_2023_conv"]["tokens"]  # a real section


def test_the_cli_reads_an_s3_lake(cli, s3_lake: str, sample_lake: Path, tmp_path: Path) -> None:
    code, out, err = cli("info", "--lake", s3_lake)
    assert code == 0, err
    assert "s3://lakes/samples" in out and "azure_llm_2023_conv" in out and "19,366" in out
    outputs = {}
    for name, lake in (("s3", s3_lake), ("local", str(sample_lake))):
        target = tmp_path / f"{name}.json"
        args = ("report", "--lake", lake, "--trace", "google_2011_jobs", "-f", "json", "-o")
        code, _, err = cli(*args, target)
        assert code == 0, err
        outputs[name] = target.read_text()
    assert outputs["s3"] == outputs["local"]


def test_credentials_in_the_uri_stay_out_of_the_report(cli, s3_lake: str, tmp_path: Path) -> None:
    with_keys = s3_lake.replace("s3://", "s3://testing:testing@")
    target = tmp_path / "r.md"
    code, _, err = cli(
        "report", "--lake", with_keys, "--trace", "google_2011_jobs", "-f", "md", "-o", target
    )
    assert code == 0, err
    text = target.read_text()
    assert "s3://lakes/samples" in text and "testing" not in text


def test_a_prefix_without_a_lake_says_how_to_put_one_there(
    cli, s3_lake: str, s3_endpoint: str
) -> None:
    empty = s3_lake.replace("lakes/samples", "lakes/nothing-here")
    code, _, err = cli("report", "--lake", empty)
    assert code == 2  # a usage error, like a mistyped local --lake
    assert "No lake at s3://lakes/nothing-here" in err and "aws s3 sync" in err


def test_ingest_into_a_bucket_is_refused_with_the_way_to_do_it(
    cli, shared: Path, tmp_path: Path
) -> None:
    azure = shared / "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv"
    code, _, err = cli("ingest", azure, "--lake", "s3://bucket/lake")
    assert code == 2 and "needs a local lake directory" in err and "aws s3 sync" in err
    assert not Path("s3:").exists()
