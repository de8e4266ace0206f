"""Fleet capacity of the sample inventories, against a plain loop over the raw node lists."""

from __future__ import annotations

import csv
import gzip
import io
import tarfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from analysis import inventory, inventory_report
from analysis.db import LakeDB

DC = "datacenter"


Machine = tuple[str | None, float, float, float | None]


def check(r: inventory.InventoryResult | None, machines: Sequence[Machine]) -> None:
    """machines: (class, cores, GPUs, memory GB or None) per machine."""
    assert r is not None
    assert r.machines == len(machines)
    assert r.cpus == pytest.approx(sum(m[1] for m in machines))
    assert r.gpus == pytest.approx(sum(m[2] for m in machines))
    if machines[0][3] is not None:
        assert r.mem_gb == pytest.approx(sum(m[3] or 0 for m in machines))
    classes = Counter(m[0] for m in machines)
    assert {c.kind: c.machines for c in r.classes} == dict(classes)
    assert r.classes[0].machines == max(classes.values())
    assert r.cpu_only == sum(m[2] == 0 for m in machines)
    gpu_machines = [m for m in machines if m[2] > 0]
    assert r.gpu_machines == len(gpu_machines)
    assert r.gpus_per_gpu_machine == pytest.approx(
        sum(m[2] for m in gpu_machines) / len(gpu_machines)
    )
    configs = Counter(machines)
    assert r.configurations == len(configs)
    assert r.largest_configuration_share == pytest.approx(max(configs.values()) / len(machines))


def test_openb_gpu_nodes(db: LakeDB, shared: Path) -> None:
    with (shared / DC / "alibaba_gpu_v2023_openb/openb_node_list_all_node.csv").open() as f:
        machines = [
            (
                r["model"] or None,
                int(r["cpu_milli"]) / 1000,
                float(r["gpu"]),
                int(r["memory_mib"]) / 1024,
            )
            for r in csv.DictReader(f)
        ]
    r = inventory.compute(db, "alibaba_gpu_2023_nodes_all_node")
    check(r, machines)
    assert r is not None and (r.machines, r.cpu_only) == (1523, 310)  # SOURCE.md: 1,523 nodes


def test_spot_gpu_nodes(db: LakeDB, shared: Path) -> None:
    with (shared / DC / "alibaba_spot_gpu_v2026/node_info_df.csv").open() as f:
        machines = [
            (r["gpu_model"], float(r["cpu_num"]), float(r["gpu_capacity_num"]), None)
            for r in csv.DictReader(f)
        ]
    r = inventory.compute(db, "alibaba_spot_gpu_2026_nodes")
    check(r, machines)
    assert r is not None and r.mem_gb is None and r.machines == 4278  # SOURCE.md: 4,278 nodes


def test_pai_machine_spec(db: LakeDB, shared: Path) -> None:
    with tarfile.open(shared / DC / "alibaba_pai_gpu_v2020/pai_machine_spec.tar.gz") as tar:
        member = next(m for m in tar.getmembers() if m.isfile())
        f = tar.extractfile(member)
        assert f is not None
        rows = list(csv.reader(io.TextIOWrapper(f, encoding="utf-8")))
    # header-less: machine, gpu_type, cap_cpu, cap_mem, cap_gpu
    machines = [(r[1], float(r[2]), float(r[4]), float(r[3])) for r in rows if r]
    check(inventory.compute(db, "alibaba_pai_2020_machine_spec"), machines)
    assert len(machines) == 1897  # SOURCE.md


def test_alibaba_2018_machine_meta(db: LakeDB, shared: Path) -> None:
    latest: dict[str, tuple[int, float, float]] = {}
    with (shared / DC / "alibaba_v2018_machine_prefix/machine_meta.csv").open() as f:
        for m, t, _, _, cpus, mem, _ in csv.reader(f):
            if m not in latest or int(t) >= latest[m][0]:
                latest[m] = (int(t), float(cpus), float(mem))
    r = inventory.compute(db, "alibaba_2018_machine_meta")
    assert r is not None
    assert (r.machines, r.cpus) == (len(latest), sum(v[1] for v in latest.values()))
    assert r.configurations == len({v[1:] for v in latest.values()}) == 1
    assert r.mem_normalized and r.mem_gb is None and r.gpus is None


def test_swf_capacity_and_offered_load(db: LakeDB, shared: Path) -> None:
    header: dict[str, str] = {}
    core_s, starts, ends = 0.0, [], []
    path = shared / DC / "pwa_swf_kth_sp2/KTH-SP2-1996-2.1-cln.swf.gz"
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith(";"):
                key, _, value = line[1:].partition(":")
                header.setdefault(key.strip(), value.strip())
                continue
            v = [float(x) for x in line.split()]
            if not v:
                continue
            submit, wait, run = v[1], v[2], v[3]
            procs = v[7] if v[7] != -1 else v[4]
            if run != -1 and procs != -1:
                core_s += procs * run
            if wait != -1:
                starts.append(submit + wait)
                if run != -1:
                    ends.append(submit + wait + run)
    cores = float(header["MaxProcs"])
    r = inventory.compute(db, "swf_kth_sp2_1996_2_1_cln")
    assert r is not None
    assert (r.machines, r.cpus, r.nodes) == (1, cores, float(header["MaxNodes"]))
    assert r.offered_load == pytest.approx(core_s / (cores * (max(ends) - min(starts))), rel=1e-9)
    words = inventory_report.section(r).findings
    assert words[0] == f"One system, {header['Computer']}, 100 cores, 100 nodes."
    assert r.offered_load is not None
    assert f"asked for {r.offered_load * 100:.1f}% of the stated cores" in words[-1]


def test_section_and_what_is_not_an_inventory(db: LakeDB) -> None:
    r = inventory.compute(db, "alibaba_gpu_2023_nodes_all_node")
    assert r is not None
    s = inventory_report.section(r)
    assert s.findings[0] == "1,523 machines, 125,514 cores, 6,212 GPUs, 583.7 TiB of memory."
    assert s.figures and s.figures[0].data[0].text[0] == f"{r.classes[0].machines:,}"
    assert inventory.compute(db, "acme_cluster_summary") is None  # published stats, no capacity
    assert inventory.compute(db, "servegen_reason_deepseek_r1") is None
