"""ServeGen on the real per-client files from alibaba/ServeGen `data/`.

Expected values were read by hand (sed/awk/grep/wc on the raw files) or taken from SOURCE.md;
none is computed with the code under test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.detect import looks_like_data
from ingest.errors import MissingColumns
from ingest.sources import SOURCES, servegen
from ingest.sources.base import read_head
from tests.conftest import lake_sql

FOLDER = "llm_serving/alibaba_servegen"


def _files(shared: Path, folder: str) -> list[Path]:
    return sorted((shared / FOLDER / folder).iterdir())


def test_deepseek_r1(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(servegen.SOURCE, _files(shared, "reason/deepseek-r1"))
    assert result.trace == "servegen_reason_deepseek_r1"
    assert result.rows_rejected == 0
    # wc -l: 10,512 windows; awk '$4!=""': 3,111 with a fit (rate for all, CV where fitted).
    # Summaries: 2 parameters per fit + 11,643 PMF bins (grep -oE '[0-9.e-]+: [0-9.e-]+').
    assert result.tables == {"series": 10512 + 3111, "summaries": 2 * 3111 + 11643}
    # SOURCE.md: client 0 has 144 windows, 118 empty, 22 Gamma and 4 Weibull fits.
    client0 = lake_sql(
        lake_dir,
        "SELECT metric, count(*) FROM series WHERE entity = 'client-0' GROUP BY ALL ORDER BY 1",
    )
    assert client0 == [("inter_arrival_cv", 26), ("request_rate", 144)]
    fits = lake_sql(
        lake_dir,
        "SELECT stat, count(*) FROM summaries WHERE entity = 'client-0' "
        "AND metric = 'inter_arrival_time' GROUP BY ALL ORDER BY 1",
    )
    assert fits == [
        ("gamma_scale", 22),
        ("gamma_shape", 22),
        ("weibull_scale", 4),
        ("weibull_shape", 4),
    ]
    # chunk-0-trace.csv line 5:
    # 2400,0.085,6.69324386291654,Gamma,0.02232167101916883,73.01783087211976
    window = lake_sql(
        lake_dir,
        "SELECT metric, value, unit, interval_s, service, kind FROM series "
        "WHERE entity = 'client-0' AND epoch(ts) = 2400 ORDER BY metric",
    )
    assert window == [
        ("inter_arrival_cv", 6.69324386291654, "dimensionless", 600.0, "deepseek-r1", "reason"),
        ("request_rate", 0.085, "req/s", 600.0, "deepseek-r1", "reason"),
    ]
    params = lake_sql(
        lake_dir,
        "SELECT stat, value, unit FROM summaries WHERE entity = 'client-0' "
        "AND extra->>'window_start_s' = '2400' ORDER BY stat",
    )
    assert params == [
        ("gamma_scale", 73.01783087211976, "s"),
        ("gamma_shape", 0.02232167101916883, "dimensionless"),
    ]
    # Line 1 `0,0,0,,0,0`: no traffic, so a zero rate and no CV.
    assert lake_sql(
        lake_dir, "SELECT metric, value FROM series WHERE entity = 'client-0' AND epoch(ts) = 0"
    ) == [("request_rate", 0.0)]


def test_multimodal_pmfs(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(servegen.SOURCE, _files(shared, "multimodal/mm-image"))
    assert result.trace == "servegen_multimodal_mm_image"
    assert result.tables == {"series": 5040 + 2094, "summaries": 2 * 2094 + 67921}
    # chunk-16-dataset.json line 14, window 21600:
    # "image_tokens": "{4: 0.0014814814814814814, 9: ..., 49: ..., 100: 0.9940740740740741,
    # 324: 0.0014814814814814814}"
    bins = lake_sql(
        lake_dir,
        "SELECT CAST(extra->>'bin' AS INTEGER), value, stat, unit FROM summaries "
        "WHERE entity = 'client-16' AND metric = 'image_tokens' "
        "AND extra->>'window_start_s' = '21600' ORDER BY 1",
    )
    assert [b for b, *_ in bins] == [4, 9, 49, 100, 324]
    assert bins[3] == (100, 0.9940740740740741, "pmf", "probability")


def test_language_spans_fourteen_days(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(servegen.SOURCE, _files(shared, "language/m-large"))
    assert result.trace == "servegen_language_m_large"
    assert result.tables == {"series": 2016 + 1301, "summaries": 2 * 1301 + 42597}
    # Last line: 1209000,0.20666666666666667,7.60573765878647,Weibull,... (day 14, 23:50).
    assert result.ts_max == "1970-01-14T23:50:00.000000Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{45: 0.25, 46: 0.75}", [("45", 0.25), ("46", 0.75)]),
        ("{0.0: 0.0, 0.001996007984031936: 1.0}", [("0.0", 0.0), ("0.001996007984031936", 1.0)]),
        ("{1: 2.5e-01, 2: 7.5E-1}", [("1", 0.25), ("2", 0.75)]),
        ("{}", []),
    ],
)
def test_pmf_parser_accepts_number_dicts(text: str, expected: list[tuple[str, float]]) -> None:
    assert servegen.parse_pmf(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo owned')",
        "{1: __import__('os').getpid()}",
        "{'a': 1.0}",
        "{1: 0.5, 2: 0.5, }",
        "{1: 0.4}",  # does not sum to 1
        "{1: 1.5, 2: -0.5}",
        "{1: nan}",
        "[1, 2]",
    ],
)
def test_pmf_parser_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        servegen.parse_pmf(text)


def test_bad_pmf_and_bad_window_rejected_with_line(
    shared: Path, tmp_path: Path, lake_dir: Path, ingest_one
) -> None:
    folder = tmp_path / "multimodal" / "mm-image"
    folder.mkdir(parents=True)
    real = shared / FOLDER / "multimodal/mm-image/chunk-16-dataset.json"
    lines = real.read_text().splitlines()
    # Line 14 holds window 21600's image_tokens PMF: replace it with code.
    assert lines[13].lstrip().startswith('"image_tokens"')
    lines[13] = "    \"image_tokens\": \"__import__('os').system('touch pwned')\","
    (folder / "chunk-16-dataset.json").write_text("\n".join(lines) + "\n")
    trace = folder / "chunk-16-trace.csv"
    shutil.copy(shared / FOLDER / "multimodal/mm-image/chunk-16-trace.csv", trace)
    text = trace.read_text().replace("600,", "six hundred,", 1)  # line 2 starts with 600,
    trace.write_text(text)
    result = ingest_one(servegen.SOURCE, sorted(folder.iterdir()), max_rejected=1)
    assert result.trace == "servegen_multimodal_mm_image"
    assert not (Path.cwd() / "pwned").exists()
    rejected = lake_sql(
        lake_dir,
        f"SELECT line, problem, \"column\" FROM read_parquet('{lake_dir}/_rejected/**/*.parquet') "
        "ORDER BY file",
    )
    assert rejected == [
        (14, "unparsable-value", "image_tokens"),
        (2, "unparsable-value", "timestamp"),
    ]
    # 8 PMFs in 4 windows (42 lines); one refused, the other 31 are kept.
    kept = (
        "SELECT count(DISTINCT (metric, extra->>'window_start_s')) FROM summaries "
        "WHERE stat = 'pmf'"
    )
    assert lake_sql(lake_dir, kept) == [(31,)]


def test_sniffer_claims_only_servegen_files(shared: Path) -> None:
    for f in sorted(p for p in shared.rglob("*") if p.is_file() and looks_like_data(p)):
        assert servegen.SOURCE.sniff(read_head(f), f.name) == (FOLDER in f.as_posix()), f


def test_no_other_registered_source_claims_them(shared: Path) -> None:
    others = [s for s in SOURCES.values() if s.name != servegen.SOURCE.name]
    for name in ("chunk-0-trace.csv", "chunk-0-dataset.json"):
        head = read_head(shared / FOLDER / "reason/deepseek-r1" / name)
        assert [s.name for s in others if s.sniff(head, name)] == [], name


def test_sniff_needs_the_file_name_and_the_shape() -> None:
    line = b"0,0.805,0.5697009755258385,Gamma,3.081101985437916,0.36003177151890525\r\n"
    assert servegen.SOURCE.sniff(line, "chunk-0-trace.csv")
    assert not servegen.SOURCE.sniff(line, "trace.csv")
    assert not servegen.SOURCE.sniff(b"timestamp,rate,cv\n0,1,2\n", "chunk-0-trace.csv")


def test_trace_with_wrong_field_count(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "chunk-3-trace.csv"
    f.write_text("0,0.5,1.2,Gamma\n")
    with pytest.raises(MissingColumns, match=r"chunk-3-trace\.csv, line 1: 4 field\(s\)"):
        ingest_one(servegen.SOURCE, [f])
