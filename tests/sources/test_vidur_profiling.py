"""Vidur operator profiles on the real CSVs from microsoft/vidur `data/profiling`.

Expected values were read by hand (head/sed/awk/wc on the raw files); none is computed with the
code under test. The files are in milliseconds (SOURCE.md, vidur's cuda_timer.py); the lake
holds seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.detect import looks_like_data
from ingest.errors import MissingColumns
from ingest.sources import SOURCES, vidur_profiling
from ingest.sources.base import read_head
from tests.conftest import lake_sql

FOLDER = "llm_serving/vidur_profiling"
LLAMA2_A100 = f"{FOLDER}/compute/a100/meta-llama/Llama-2-7b-hf/mlp.csv"
H100_ALL_REDUCE = f"{FOLDER}/network/h100_dgx/all_reduce.csv"


def test_whole_profiling_folder(shared: Path, lake_dir: Path, ingest_one) -> None:
    files = sorted((shared / FOLDER).rglob("*.csv"))
    result = ingest_one(vidur_profiling.SOURCE, files)
    assert result.trace == "vidur_profiling"
    assert result.rows_rejected == 0
    # Data lines (wc -l minus 1) x time_stats columns (head -1 | grep -c time_stats):
    # mlp 1044x50 + 1824x50 + 261x45 (phi-2 has no post_attention_layernorm) + 1044x50,
    # network (4496 + 1988 + 2982 + 1988) x 5.
    expected = 1044 * 50 + 1824 * 50 + 261 * 45 + 1044 * 50 + (4496 + 1988 + 2982 + 1988) * 5
    assert result.tables == {"measurements": expected}
    skus = lake_sql(lake_dir, "SELECT DISTINCT sku, unit FROM measurements ORDER BY 1")
    assert skus == [("a100", "s"), ("h100", "s")]


def test_mlp_operator_times_in_seconds(shared: Path, lake_dir: Path, ingest_one) -> None:
    ingest_one(vidur_profiling.SOURCE, [shared / LLAMA2_A100])
    # Lines 2 and 3 both profile num_tokens=4096 on 1 GPU (config columns
    # `32,32,4096,11008,32768,True,4096,1`); mlp_up_proj medians 3.3655 and 3.324 ms.
    medians = lake_sql(
        lake_dir,
        "SELECT value FROM measurements WHERE subject = 'a100/meta-llama/Llama-2-7b-hf/tp1' "
        "AND benchmark = 'mlp_up_proj' AND metric = 'median' "
        "AND extra->>'num_tokens' = '4096' ORDER BY value",
    )
    assert medians == [(pytest.approx(0.003324),), (pytest.approx(0.0033655),)]
    # emb std: 0.008032530233376871 (line 2) and 0.007179903927502328 (line 3), in ms.
    emb = lake_sql(
        lake_dir,
        "SELECT value FROM measurements WHERE benchmark = 'emb' AND metric = 'std' "
        "AND extra->>'num_tokens' = '4096' AND subject LIKE '%/tp1' ORDER BY value",
    )
    assert [v for (v,) in emb] == pytest.approx([0.007179903927502328e-3, 0.008032530233376871e-3])
    extra = lake_sql(
        lake_dir,
        "SELECT DISTINCT extra FROM measurements WHERE extra->>'num_tokens' = '4096' "
        "AND subject LIKE '%/tp1'",
    )
    assert extra == [
        (
            '{"profile":"mlp","n_head":32,"n_kv_head":32,"n_embd":4096,"n_expanded_embd":11008,'
            '"vocab_size":32768,"use_gated_mlp":true,"num_tokens":4096,'
            '"num_tensor_parallel_workers":1}',
        )
    ]


def test_all_reduce(shared: Path, lake_dir: Path, ingest_one) -> None:
    result = ingest_one(vidur_profiling.SOURCE, [shared / H100_ALL_REDUCE])
    assert result.tables == {"measurements": 2982 * 5}
    # Line 2: 0,0.015,0.038,0.03,0.037,0.010614455552060439,0,8,2048,all_reduce,8,8
    rows = lake_sql(
        lake_dir,
        "SELECT metric, value FROM measurements WHERE subject = 'h100_dgx/workers8' "
        "AND benchmark = 'all_reduce' AND extra->>'size' = '2048' ORDER BY metric",
    )
    assert [m for m, _ in rows] == ["max", "mean", "median", "min", "std"]
    assert [v for _, v in rows] == pytest.approx(
        [38e-6, 30e-6, 37e-6, 15e-6, 0.010614455552060439e-3]
    )
    extra = lake_sql(
        lake_dir,
        "SELECT DISTINCT sku, extra FROM measurements WHERE subject = 'h100_dgx/workers8' "
        "AND extra->>'size' = '2048'",
    )
    assert extra == [
        (
            "h100",
            '{"profile":"all_reduce","rank":0,"num_workers":8,"size":2048,'
            '"collective":"all_reduce","devices_per_node":8,"max_devices_per_node":8}',
        )
    ]


def test_sniffer_claims_only_profiling_files(shared: Path) -> None:
    for f in sorted(p for p in shared.rglob("*") if p.is_file() and looks_like_data(p)):
        assert vidur_profiling.SOURCE.sniff(read_head(f), f.name) == (FOLDER in f.as_posix()), f


def test_no_other_registered_source_claims_them(shared: Path) -> None:
    others = [s for s in SOURCES.values() if s.name != vidur_profiling.SOURCE.name]
    for rel in (LLAMA2_A100, H100_ALL_REDUCE):
        f = shared / rel
        assert [s.name for s in others if s.sniff(read_head(f), f.name)] == [], rel


def test_garbage_time_rejected_with_line(tmp_path: Path, lake_dir: Path, ingest_one) -> None:
    folder = tmp_path / "network" / "h100_dgx"
    folder.mkdir(parents=True)
    f = folder / "send_recv.csv"
    f.write_text(
        ",time_stats.send_recv.min,time_stats.send_recv.max,time_stats.send_recv.mean,"
        "time_stats.send_recv.median,time_stats.send_recv.std,rank,num_workers,size,collective,"
        "devices_per_node,max_devices_per_node\n"
        "0,0.01,0.02,0.015,0.017,0.004,0,2,2048,send_recv,1,8\n"
        "1,fast,0.02,0.015,0.017,0.004,0,2,10240,send_recv,1,8\n"
    )
    result = ingest_one(vidur_profiling.SOURCE, [f], max_rejected=1)
    assert result.tables == {"measurements": 5}
    assert result.examples == [
        f"{f}, line 3: unparsable-value: time_stats.send_recv.min: 'fast' is not a number"
    ]


def test_missing_configuration_column(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "mlp.csv"
    f.write_text("time_stats.emb.min,time_stats.emb.max,num_tokens\n0.1,0.2,16\n")
    with pytest.raises(MissingColumns, match=r"mlp\.csv, line 1: missing num_tensor_parallel"):
        ingest_one(vidur_profiling.SOURCE, [f])
