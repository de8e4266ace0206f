"""The dataset catalog: it loads, it is complete, and its checksums match the real samples."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from ingest.catalog import (
    FAMILIES,
    CatalogError,
    Dataset,
    UnknownDataset,
    datasets_for_source,
    default_catalog_path,
    get_dataset,
    load_catalog,
)
from ingest.errors import DataError, UsageError

ROOT = Path(__file__).resolve().parents[1]

# The source names planned across the project (one module per trace format). The catalog's
# `adapters` must use exactly these; the plan left the PAI 2020 names open (one per table).
PLANNED_SOURCES = {
    # serverless
    "azure_functions_2019", "azure_functions_2021", "huawei_2023", "huawei_2025",
    # datacenter
    "google_2011_jobs", "google_2011_tasks", "alibaba_2017_batch",
    "alibaba_2018_machine_usage", "alibaba_2018_machine_meta", "swf",
    "alibaba_gpu_2023_pods", "alibaba_gpu_2023_nodes", "alibaba_dlrm_2025",
    "alibaba_spot_gpu_2026", "acme_jobs", "acme_cluster_summary", "philly", "helios",
    # llm_serving
    "azure_llm_2023", "azure_llm_2024", "mooncake", "burstgpt", "vidur_trace",
    "alibaba_genai_2026", "alibaba_genai_2026_metrics", "servegen", "vidur_profiling",
    "vidur_trace_untimed",  # a second source for Vidur's arXiv file, which has no timestamps
    # vm_interference
    "azure_vm_noise_2024", "alibaba_pai_minibatch_2020",
}  # fmt: skip
PLANNED_PREFIXES = ("alibaba_pai_2020_",)


@pytest.fixture(scope="module")
def catalog() -> list[Dataset]:
    return load_catalog()


def test_catalog_lives_in_datasets_and_datasets_is_not_a_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRACES_CATALOG", raising=False)
    assert default_catalog_path() == ROOT / "datasets" / "catalog.toml"
    # An __init__.py would shadow Hugging Face's `datasets` package for every user.
    assert not (ROOT / "datasets" / "__init__.py").exists()


def test_catalog_loads_with_unique_names(catalog: list[Dataset]) -> None:
    names = [d.name for d in catalog]
    assert len(names) == len(set(names)) >= 26


def test_every_entry_has_the_required_fields(catalog: list[Dataset]) -> None:
    for d in catalog:
        assert d.family in FAMILIES, d.name
        for field in (d.title, d.description, d.citation, d.licence, d.homepage):
            assert field.strip(), d.name
        assert d.homepage.startswith("https://"), d.name
        # A user who runs `traces fetch NAME` always learns how to get the data.
        assert d.release.downloadable or d.release.manual, d.name
        for f in d.release.files + (d.sample.files if d.sample else ()):
            assert f.url is None or f.url.startswith(("https://", "http://")), f.path


def test_datasets_outside_the_samples_are_catalogued(catalog: list[Dataset]) -> None:
    names = {d.name for d in catalog}
    wanted = {"google_2019", "burstgpt", "huawei_2023", "huawei_2025", "acme", "philly", "helios"}
    assert wanted <= names


def test_manual_datasets_say_why_and_how(catalog: list[Dataset]) -> None:
    by_name = {d.name: d for d in catalog}
    assert by_name["google_2011"].access == "manual"
    assert any("gsutil" in s for s in by_name["google_2011"].release.manual)
    assert any("survey" in s for s in by_name["alibaba_2017"].release.manual)
    assert "Drive" in (by_name["huawei_2025"].release.note or "")
    assert by_name["acme"].access == "partial"
    assert by_name["azure_llm_2023"].access == "direct"


def test_every_adapter_is_a_planned_source(catalog: list[Dataset]) -> None:
    for d in catalog:
        for a in d.adapters:
            assert a in PLANNED_SOURCES or a.startswith(PLANNED_PREFIXES), f"{d.name}: {a}"


def test_every_planned_source_has_a_dataset(catalog: list[Dataset]) -> None:
    for source in [*PLANNED_SOURCES, "alibaba_pai_2020_jobs"]:
        assert datasets_for_source(source, catalog), source


def test_every_registered_source_has_a_catalog_entry(catalog: list[Dataset]) -> None:
    from ingest.sources import SOURCES

    missing = [name for name in SOURCES if not datasets_for_source(name, catalog)]
    assert not missing, f"sources with no dataset in datasets/catalog.toml: {missing}"


def test_shared_samples_match_the_catalog_checksums(catalog: list[Dataset], shared: Path) -> None:
    """Each sample's sha256 was computed once by hand (sha256sum) and stored in the catalog."""
    listed: dict[str, str] = {}
    for d in catalog:
        for f in d.release.files + (d.sample.files if d.sample else ()):
            if f.shared:
                assert f.shared not in listed, f"{f.shared} listed twice"
                listed[f.shared] = d.name
                data = (shared / f.shared).read_bytes()
                assert len(data) == f.size, f.shared
                assert hashlib.sha256(data).hexdigest() == f.sha256, f.shared
    on_disk = {
        str(p.relative_to(shared))
        for p in shared.rglob("*")
        if p.is_file() and p.name not in ("SOURCE.md", "README.md")
    }
    assert on_disk == set(listed), f"samples not in the catalog: {sorted(on_disk - set(listed))}"


def test_a_few_checksums_by_hand(catalog: list[Dataset]) -> None:
    # Published by Alibaba in cluster-trace-gpu-v2020/README.md (and our sha256sum agrees).
    pai = get_dataset("alibaba_pai_2020", catalog)
    spec = next(f for f in pai.release.files if f.path == "pai_machine_spec.tar.gz")
    assert spec.sha256 == "cc0d38a4045af1b1af8179de8b1b54b1ddd995e6160d6d061a6b1000f1276c2d"
    assert spec.size == 30449
    # sha256sum ../shared/traces/datacenter/acme_trace/cluster_summary.csv
    acme = get_dataset("acme", catalog)
    assert acme.release.files[0].sha256 == (
        "cde7a7d4ba1596ea165cf4583137d2095020abebbc26b3cd834284c16e8e6ecf"
    )


def test_urls_keep_hive_partition_names_readable(catalog: list[Dataset]) -> None:
    noise = get_dataset("azure_vm_noise_2024", catalog)
    assert noise.sample is not None
    redis = next(f for f in noise.sample.files if "Requests Per Second" in f.path)
    assert redis.url is not None
    assert "/test_suite=Redis/" in redis.url
    assert "unit=Requests%20Per%20Second.csv" in redis.url


def test_readme_lists_every_dataset(catalog: list[Dataset]) -> None:
    readme = (ROOT / "datasets" / "README.md").read_text()
    missing = [d.name for d in catalog if f"`{d.name}`" not in readme]
    assert not missing, f"datasets/README.md does not mention {missing}"


# --- lookup -------------------------------------------------------------------------------


def test_lookup_by_name(catalog: list[Dataset]) -> None:
    assert get_dataset("philly", catalog).family == "datacenter"
    assert get_dataset("Philly", catalog).name == "philly"


def test_typo_suggests_the_closest_name(catalog: list[Dataset]) -> None:
    with pytest.raises(UnknownDataset) as e:
        get_dataset("burstgtp", catalog)
    assert "No dataset named 'burstgtp'. Did you mean 'burstgpt'?" in str(e.value)
    assert "traces datasets" in str(e.value)
    assert isinstance(e.value, UsageError) and e.value.exit_code == 2


def test_source_name_points_to_its_dataset(catalog: list[Dataset]) -> None:
    with pytest.raises(UnknownDataset) as e:
        get_dataset("google_2011_jobs", catalog)
    assert "'google_2011_jobs' is a source; its files are in dataset 'google_2011'" in str(e.value)


# --- validation ---------------------------------------------------------------------------

GOOD = """
schema_version = 1
[[dataset]]
name = "tiny"
family = "llm_serving"
title = "Tiny"
description = "A tiny trace."
citation = "Someone, \\"A paper\\", 2024."
licence = "CC-BY-4.0"
homepage = "https://example.org/tiny"
adapters = ["burstgpt"]
[dataset.release]
base_url = "https://example.org/files/"
files = [{ path = "a b.csv", size = 3, sha256 = "%s" }]
""" % ("a" * 64)


def _load(tmp_path: Path, text: str) -> list[Dataset]:
    path = tmp_path / "catalog.toml"
    path.write_text(text)
    return load_catalog(path)


def test_good_minimal_catalog(tmp_path: Path) -> None:
    (d,) = _load(tmp_path, GOOD)
    assert d.release.files[0].url == "https://example.org/files/a%20b.csv"
    assert d.access == "direct" and d.sample is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('sha256 = "', 'sha265 = "'), "unknown key 'sha265'. Did you mean 'sha256'?"),
        (('title = "Tiny"\n', ""), "missing required key(s) title"),
        (("a" * 64, "A" * 64), "'sha256' must be 64 lowercase hex digits"),
        (("a" * 64, "abc123"), "If only a prefix is known, store it as 'sha256_prefix'"),
        (('"llm_serving"', '"llm-serving"'), "Did you mean 'llm_serving'?"),
        (('"a b.csv"', '"../escape.csv"'), "must be a plain relative POSIX path"),
        (('"https://example.org/tiny"', '"ftp://example.org"'), "must be an http(s) URL"),
        (('["burstgpt"]', '["Burst GPT"]'), "must be a source name (snake_case)"),
        (("size = 3", "size = -3"), "'size' must be a whole number of bytes"),
        (('name = "tiny"', 'name = "Tiny Trace"'), "must be snake_case"),
        (("schema_version = 1", "schema_version = 2"), "schema_version is 2"),
    ],
)
def test_bad_catalog_entries_are_named(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(CatalogError) as e:
        _load(tmp_path, GOOD.replace(*edit, 1))
    assert message in str(e.value)
    assert isinstance(e.value, DataError) and "catalog.toml" in str(e.value)


def test_prefix_only_checksum_is_kept_and_marked(tmp_path: Path) -> None:
    (d,) = _load(tmp_path, GOOD.replace('sha256 = "' + "a" * 64, 'sha256_prefix = "cde7a7d4'))
    f = d.release.files[0]
    assert f.sha256 is None and f.sha256_prefix == "cde7a7d4" and f.checksum_known


def test_duplicate_names_and_paths(tmp_path: Path) -> None:
    body = GOOD.split("[[dataset]]", 1)[1]
    with pytest.raises(CatalogError, match="'tiny' appears twice"):
        _load(tmp_path, GOOD + "[[dataset]]" + body)
    twice = GOOD.replace("files = [{", 'files = [{ path = "a b.csv" }, {')
    with pytest.raises(CatalogError, match=r"listed twice: a b\.csv"):
        _load(tmp_path, twice)


def test_shared_copy_needs_a_full_checksum(tmp_path: Path) -> None:
    text = GOOD.replace('sha256 = "' + "a" * 64 + '"', 'shared = "x/a.csv"')
    with pytest.raises(CatalogError, match="shared copy must give its full 'sha256'"):
        _load(tmp_path, text)


def test_release_without_files_or_steps(tmp_path: Path) -> None:
    text = re.sub(r"base_url = .*\nfiles = .*\n", 'note = "nothing"\n', GOOD)
    with pytest.raises(CatalogError, match="list 'files', or 'manual' steps"):
        _load(tmp_path, text)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"Dataset catalog not found at .*TRACES_CATALOG"):
        load_catalog(tmp_path / "nope.toml")
    with pytest.raises(CatalogError, match="is not valid TOML"):
        _load(tmp_path, "[[dataset]\nname = ")


def test_catalog_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "catalog.toml").write_text(GOOD)
    monkeypatch.setenv("TRACES_CATALOG", str(tmp_path / "catalog.toml"))
    assert [d.name for d in load_catalog()] == ["tiny"]
