"""Golden tests for the Alibaba PAI 2020 mini-batch time source on the real sample.

Expected values were read by hand from the raw files with head/sed/grep/awk (the line is named
beside each), not computed by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import MissingColumns
from ingest.sources import alibaba_pai_minibatch_2020 as pai
from ingest.sources.base import read_head
from tests.conftest import lake_sql

SAMPLE = "vm_interference/alibaba_pai_minibatch_time_2020"
JOB_HEADER = ",worker,gpu,time,batch_time_norm\n"


def _files(shared: Path) -> list[Path]:
    return sorted((shared / SAMPLE).glob("*.csv"))


@pytest.fixture
def ingested(shared: Path, lake_dir: Path, ingest_one):  # type: ignore[no-untyped-def]
    return ingest_one(pai.SOURCE, _files(shared))


def test_folder_is_one_trace_with_two_tables(ingested) -> None:
    assert ingested.trace == "alibaba_pai_minibatch_2020"
    # `wc -l` minus headers: job_1 3000, job_2 2402, job_3 2489, job_4 21829 rows. CoV: 100 jobs
    # x 2000 iterations, of which awk counts 117,261 empty cells -> 82,739 values.
    assert ingested.tables == {"measurements": 29720, "summaries": 82739}
    assert ingested.rows_rejected == 0
    assert (ingested.ts_min, ingested.ts_max) == (None, None)


def test_worker_minibatch_times(lake_dir: Path, ingested) -> None:
    cols = "subject, benchmark, metric, value, unit, run, extra, ts"
    # job_1_norm.csv line 2: 0,0,25,1,476 (worker 0, 25% of a GPU, iteration 1).
    assert lake_sql(
        lake_dir, f"SELECT {cols} FROM measurements WHERE subject = 'job_1/worker_0' AND run = 1"
    ) == [
        (
            "job_1/worker_0",
            "minibatch_time",
            "batch_time_norm",
            476.0,
            "normalized",
            1,
            '{"num_gpus":0.25}',
            None,
        )
    ]
    # job_4_norm.csv line 3: 1,1,50,1,59.
    assert lake_sql(
        lake_dir,
        "SELECT value, extra FROM measurements WHERE subject = 'job_4/worker_1' AND run = 1",
    ) == [(59.0, '{"num_gpus":0.5}')]
    # job_2_norm.csv: the last two lines are worker 0 alone at iterations 2481 and 2486 (710).
    assert lake_sql(
        lake_dir,
        "SELECT run, value FROM measurements WHERE subject = 'job_2/worker_0' AND run > 2480 "
        "ORDER BY run",
    ) == [(2481, 710.0), (2486, 710.0)]
    # `awk -F, '{print $2","$4}' | sort | uniq -d`: worker 3 has two rows at iteration 2381 in
    # job_2; both are kept.
    assert lake_sql(
        lake_dir,
        "SELECT count(*) FROM measurements WHERE subject = 'job_2/worker_3' AND run = 2381",
    ) == [(2,)]
    # Ten workers (0-9) in each of the four jobs.
    assert lake_sql(lake_dir, "SELECT count(DISTINCT subject) FROM measurements") == [(40,)]


def test_coefficient_of_variation_per_iteration(lake_dir: Path, ingested) -> None:
    rows = lake_sql(
        lake_dir,
        "SELECT entity, metric, stat, value, unit, count, extra FROM summaries "
        "WHERE entity = 'job_00' ORDER BY CAST(extra->>'iteration' AS INT) LIMIT 2",
    )
    # coefficient_variation.csv line 2: job_00,0.0536543687132439,0.04496203275814665,...
    assert rows == [
        ("job_00", "minibatch_time", "cv", 0.0536543687132439, "ratio", 10, '{"iteration":0}'),
        ("job_00", "minibatch_time", "cv", 0.04496203275814665, "ratio", 10, '{"iteration":1}'),
    ]
    # job_00 has 387 non-empty cells, all leading (awk over line 2).
    assert lake_sql(lake_dir, "SELECT count(*) FROM summaries WHERE entity = 'job_00'") == [(387,)]
    # job_07 (line 9) runs all 2000 iterations; its last cell is 0.09140027935097898.
    assert lake_sql(
        lake_dir,
        "SELECT value FROM summaries WHERE entity = 'job_07' AND extra->>'iteration' = '1999'",
    ) == [(0.09140027935097898,)]
    assert lake_sql(lake_dir, "SELECT count(DISTINCT entity) FROM summaries") == [(100,)]


def test_sniff_accepts_both_shapes(shared: Path) -> None:
    for f in _files(shared):
        assert pai.sniff(read_head(f), f.name), f
    # The CoV shape alone is generic (numbered columns): it needs its file name too.
    cov = shared / SAMPLE / "coefficient_variation.csv"
    assert not pai.sniff(read_head(cov), "matrix.csv")


@pytest.mark.parametrize(
    "other",
    [
        "vm_interference/azure_vm_noise_2024/vm-noise-data/test_suite=Stress-NG/"
        "test_name=Test:_CPU_Stress/vm_lifespan=long/vm_region=eastus/vm_sku=B8ms/"
        "unit=Bogo Ops_s.csv",
        "datacenter/alibaba_pai_gpu_v2020/pai_task_table.header",
        "datacenter/alibaba_pai_gpu_v2020/pai_sensor_table.header",
        "datacenter/alibaba_gpu_v2023_openb/openb_pod_list_default.csv",
        "llm_serving/azure_llm_inference_2023/AzureLLMInferenceTrace_conv.csv",
        "llm_serving/vidur_profiling/compute/a100/microsoft/phi-2/mlp.csv",
        "serverless/azure_functions_2019_invitro_sample100/invocations.csv",
        "datacenter/google_borg_2011/task_events/part-00001-of-00500.csv.gz",
    ],
)
def test_sniff_rejects_other_samples(shared: Path, other: str) -> None:
    path = shared / other
    assert not pai.sniff(read_head(path), path.name)


def test_garbage_row_is_rejected_with_its_line(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "job_7_norm.csv"
    f.write_text(JOB_HEADER + "0,0,25,1,476\n1,one,25,1,509\n2,2,25,1,468\n")
    result = ingest_one(pai.SOURCE, [f], max_rejected=1)
    assert result.tables == {"measurements": 2}
    assert result.problems == {"unparsable-value": 1}
    assert "line 3" in result.examples[0]


def test_missing_column_is_refused(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "job_8_norm.csv"
    f.write_text(",worker,gpu,batch_time_norm\n0,0,25,476\n")
    assert not pai.sniff(f.read_bytes(), f.name)
    with pytest.raises(MissingColumns, match=r"missing column.*time"):
        ingest_one(pai.SOURCE, [f])


def test_coefficient_file_with_wrong_header_is_refused(tmp_path: Path, ingest_one) -> None:
    f = tmp_path / "coefficient_variation.csv"
    f.write_text("job,a,b\njob_00,0.05,0.04\n")
    assert not pai.sniff(f.read_bytes(), f.name)
    with pytest.raises(MissingColumns, match="iteration columns 0, 1, 2"):
        ingest_one(pai.SOURCE, [f])
