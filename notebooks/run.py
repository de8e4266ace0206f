"""Execute the paper notebooks and fail when a reproduced number is out of tolerance.

    .venv/bin/python notebooks/run.py                        # all, on a lake built from the samples
    .venv/bin/python notebooks/run.py mooncake_fast25        # some of them
    .venv/bin/python notebooks/run.py --lake lake            # on an existing lake, as it is
    .venv/bin/python notebooks/run.py --out out/notebooks    # where the executed .ipynb go
    .venv/bin/python notebooks/run.py --burstgpt BurstGPT_without_fails_2.csv

A notebook is a jupytext percent-format `.py` file in this folder (one with the jupytext header;
checks.py and this file are helpers). Each is converted with jupytext and executed with nbclient
in a kernel that runs this very interpreter (the venv's python: a kernelspec written to a
temporary folder names it, so no kernel has to be registered first). Parameters reach the
notebooks as environment variables: TRACES_LAKE (the lake), BURSTGPT_PATH and BURSTGPT_LAKE.

Without --lake, a fresh lake is built in a temporary folder from ../shared/traces (beside the
repository; --samples to change), exactly as `traces ingest` would. Every notebook ends with a
table of checks (see checks.py); a check out of tolerance, a notebook that raises, or one that
reports no checks makes the run fail. The executed notebooks are written beside their .py files
(or to --out), also when they fail, so the failing cell can be read.

Exit codes: 0 every notebook ran and every checked number is within tolerance, 1 otherwise,
2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLES = ROOT.parent / "shared" / "traces"
BURSTGPT_FIXTURE = ROOT / "tests" / "fixtures" / "burstgpt_schema_fixture.csv"
MIME_TYPE = "application/vnd.workload-traces.checks+json"  # the same as checks.MIME_TYPE
KERNEL_NAME = "workload-traces-venv"
JUPYTEXT_HEADER = "# ---\n# jupyter:\n"


class UsageError(Exception):
    pass


@dataclass
class Result:
    """One executed notebook: its checks as run.py read them back, or what went wrong."""

    name: str
    seconds: float = 0.0
    checks: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the whole message, with the failing cell's traceback
    summary: str = ""  # one line of it
    output: Path | None = None

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c.get("ok") is False]

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.checks) and not self.failed_checks


def notebook_paths(names: Sequence[str] = ()) -> list[Path]:
    """The notebooks in this folder, or those named (with or without .py), in name order."""
    found = {
        p.stem: p
        for p in sorted(HERE.glob("*.py"))
        if p.read_text(encoding="utf-8").startswith(JUPYTEXT_HEADER)
    }
    if not names:
        return list(found.values())
    unknown = [n for n in names if n.removesuffix(".py") not in found]
    if unknown:
        raise UsageError(
            f"No notebook named {', '.join(unknown)} in {HERE}. Notebooks: {', '.join(found)}."
        )
    return [found[n.removesuffix(".py")] for n in names]


def build_lake(samples: Path, lake: Path) -> Path:
    """Ingest every sample trace under `samples` into a new lake at `lake`."""
    from ingest.pipeline import ingest_paths

    if not samples.is_dir():
        raise UsageError(
            f"Real samples not found at {samples}: clone the project beside ../shared, "
            "or pass --samples DIR or --lake DIR."
        )
    report = ingest_paths([samples], lake)
    if report.failures:
        problems = "; ".join(f"{p.trace}: {e}" for p, e in report.failures)
        raise RuntimeError(f"Building the lake from {samples} failed: {problems}")
    return lake


def write_kernelspec(folder: Path) -> Path:
    """A kernelspec that starts ipykernel on this interpreter; returns its kernels/ folder."""
    kernels = folder / "kernels"
    spec = kernels / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python (workload-traces venv)",
                "language": "python",
            }
        )
    )
    return kernels


def read_checks(nb: Any) -> list[dict[str, Any]]:
    """Every check row the notebook's outputs carry under MIME_TYPE, in order."""
    found: list[dict[str, Any]] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if MIME_TYPE in data:
                payload = data[MIME_TYPE]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                found.extend(payload.get("checks", []))
    return found


def execute(
    path: Path,
    env: dict[str, str],
    kernels: Path,
    out_dir: Path | None = None,
    timeout: int = 600,
) -> Result:
    """Convert one notebook, execute it, write the .ipynb, read back its checks."""
    import jupytext
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    result = Result(path.stem)
    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "Python (workload-traces venv)",
        "language": "python",
    }
    # IPC sockets in a private folder: nothing listens on TCP ports (ipykernel warns about
    # unencrypted TCP), and parallel runs cannot collide.
    km = AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
        transport="ipc",
        ip=str(kernels.parent / f"{path.stem}-kernel"),
    )
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        # A client given its kernel manager leaves the kernel running unless told otherwise.
        client.execute(env=env, cleanup_kc=True)
    except CellExecutionError as e:
        result.error = str(e)
        result.summary = f"{e.ename}: {e.evalue}"
    except (CellTimeoutError, DeadKernelError) as e:
        result.error = str(e)
        result.summary = str(e).strip().splitlines()[0]
    except Exception as e:  # the kernel would not start: report it with the others
        result.error = result.summary = f"{type(e).__name__}: {e}"
    result.seconds = time.perf_counter() - start
    target = (out_dir or path.parent) / f"{path.stem}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    result.output = target
    result.checks = read_checks(nb)
    if result.error is None and not result.checks:
        result.error = result.summary = (
            "the notebook reported no checks (it must end with checks.report)"
        )
    return result


def run(
    names: Sequence[str] = (),
    lake: Path | None = None,
    samples: Path = SAMPLES,
    out_dir: Path | None = None,
    burstgpt: Path = BURSTGPT_FIXTURE,
    timeout: int = 600,
    log: Any = print,
) -> list[Result]:
    """Execute the notebooks (all, or those named) against `lake`, or a lake built from
    `samples`; one Result per notebook."""
    paths = notebook_paths(names)
    if not burstgpt.is_file():
        raise UsageError(f"No BurstGPT file at {burstgpt}.")
    if lake is not None and not (lake / "_lake.json").is_file():
        raise UsageError(f"{lake} is not a lake (no _lake.json): build one with `traces ingest`.")
    with tempfile.TemporaryDirectory(prefix="traces-notebooks-") as tmp:
        work = Path(tmp)
        if lake is None:
            t0 = time.perf_counter()
            lake = build_lake(samples, work / "lake")
            log(f"built a lake from {samples} in {time.perf_counter() - t0:.1f} s")
        kernels = write_kernelspec(work / "jupyter")
        env = dict(os.environ)
        env.update(
            TRACES_LAKE=str(lake.resolve()),
            BURSTGPT_PATH=str(burstgpt.resolve()),
            BURSTGPT_LAKE=str(work / "burstgpt_lake"),
            # checks.py, then this checkout's packages ahead of whatever the venv installed.
            PYTHONPATH=os.pathsep.join(
                p for p in (str(HERE), str(ROOT), env.get("PYTHONPATH", "")) if p
            ),
        )
        results = []
        for path in paths:
            r = execute(path, env, kernels, out_dir, timeout)
            status = "ok" if r.ok else "FAILED"
            log(f"{r.name}: {status} in {r.seconds:.1f} s, {len(r.checks)} checks -> {r.output}")
            results.append(r)
    return results


def _checks_module() -> Any:
    """notebooks/checks.py, loaded from this folder whatever sys.path holds."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_checks", HERE / "checks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def table(results: Sequence[Result]) -> str:
    """Every check of every notebook as text tables, and every error."""
    checks = _checks_module()
    lines = []
    for r in results:
        if r.error:
            lines.append(f"\n{r.name}: ERROR\n{r.error.strip()[-3000:]}")
        if r.checks:
            cs = [checks.Check(**c) for c in r.checks]
            lines.append(f"\n{r.name} ({r.seconds:.1f} s)\n{checks.text(cs)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="notebooks/run.py",
        description="Execute the paper notebooks; fail on a number out of tolerance.",
    )
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all)")
    parser.add_argument("--lake", type=Path, help="an existing lake (default: build one)")
    parser.add_argument(
        "--samples", type=Path, default=SAMPLES, help=f"samples to build from ({SAMPLES})"
    )
    parser.add_argument("--out", type=Path, help="folder for the executed .ipynb (default: here)")
    parser.add_argument(
        "--burstgpt", type=Path, default=BURSTGPT_FIXTURE, help="a BurstGPT CSV to analyse"
    )
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        results = run(args.names, args.lake, args.samples, args.out, args.burstgpt, args.timeout)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # the lake could not be built
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(table(results))
    bad = [r for r in results if not r.ok]
    print(
        f"\n{len(results)} notebooks in {time.perf_counter() - t0:.1f} s: "
        f"{len(results) - len(bad)} ok, {len(bad)} failed"
    )
    for r in bad:
        why = r.summary or "out of tolerance: " + ", ".join(c["metric"] for c in r.failed_checks)
        print(f"  {r.name}: {why}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(1, str(ROOT))  # this checkout's packages, installed or not
    sys.exit(main())
