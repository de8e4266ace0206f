"""A second-language consumer (issue 13): consumers/node/check_golden.mjs runs each model.onnx
with onnxruntime-node on its card's golden vectors and must match them; a card whose golden
output is off by 1%, or a model.onnx that is not the card's, makes it exit 1 naming the model,
output and row. Skips without node or the package, saying how to install them, except under CI
(the CI environment variable), where it fails: CI must run it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from predictors.common import TrainResult
from tests.predictors.golden_support import synthetic_model, with_golden

NODE_DIR = Path(__file__).resolve().parents[2] / "consumers" / "node"
SCRIPT = NODE_DIR / "check_golden.mjs"
PACKAGE = NODE_DIR / "node_modules" / "onnxruntime-node" / "package.json"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        problem = "node is not installed (Debian: apt-get install nodejs npm)"
    elif not PACKAGE.is_file():
        problem = f"onnxruntime-node is not installed in {NODE_DIR}: run `make node-consumer`"
    else:
        return exe
    if in_ci():
        pytest.fail(f"{problem}; CI must run the Node.js consumer (.ci/run installs it).")
    pytest.skip(problem)


def pinned_version() -> str:
    return str(
        json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["onnxruntime-node"]
    )


def check(node: str, *dirs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node, str(SCRIPT), *map(str, dirs)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=NODE_DIR,
    )


@pytest.fixture(scope="module")
def model_dirs(
    output_length: TrainResult,
    latency: TrainResult,
    interference: TrainResult,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("node-consumer")
    synthetic_model(tmp / "synthetic")
    return {
        "synthetic": tmp / "synthetic",
        "output-length": with_golden(output_length, tmp / "output-length"),
        "latency": with_golden(latency, tmp / "latency"),
        "interference": with_golden(interference, tmp / "interference"),
    }


def copy_model(src: Path, dst: Path) -> Path:
    return Path(shutil.copytree(src, dst))


def test_the_installed_onnxruntime_node_is_the_pinned_one(node: str) -> None:
    pin = pinned_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", pin), f"pin an exact version, not {pin!r}"
    assert json.loads(PACKAGE.read_text())["version"] == pin


def test_node_matches_the_golden_vectors_of_every_kind(
    node: str, model_dirs: dict[str, Path]
) -> None:
    dirs = list(model_dirs.values())
    done = check(node, *dirs)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"onnxruntime-node {pinned_version()}"
    for kind, model_dir in model_dirs.items():
        card = json.loads((model_dir / "model.json").read_text())
        rows = len(card["golden"]["outputs"][card["outputs"][0]["name"]])
        n_out = len(card["outputs"])
        line = next(x for x in lines if x.startswith(f"ok   {model_dir}:"))
        m = re.fullmatch(
            rf"ok   {re.escape(str(model_dir))}: (\d+) rows, (\d+) outputs?, "
            r"max relative difference (\S+) \(tolerance (\S+)\)",
            line,
        )
        assert m, line
        assert (int(m[1]), int(m[2])) == (rows, n_out), kind
        assert float(m[3]) <= 1e-5, kind
    assert len(lines) == 1 + len(dirs)


def test_an_output_off_by_one_percent_fails_naming_model_output_and_row(
    node: str, model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    bad = copy_model(model_dirs["output-length"], tmp_path / "altered")
    card = json.loads((bad / "model.json").read_text())
    card["golden"]["outputs"]["p50"][3] *= 1.01
    (bad / "model.json").write_text(json.dumps(card))
    done = check(node, model_dirs["latency"], bad)
    assert done.returncode == 1
    assert f"ok   {model_dirs['latency']}:" in done.stdout  # the good model still passes
    assert f"FAIL {bad}:" in done.stdout
    assert f"{bad}: output p50 row 3: onnxruntime-node gives" in done.stdout
    assert "output p10" not in done.stdout and "output p90" not in done.stdout


def test_a_model_file_that_is_not_the_cards_is_refused(
    node: str, model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    bad = copy_model(model_dirs["synthetic"], tmp_path / "swapped")
    data = bytearray((bad / "model.onnx").read_bytes())
    data[-1] ^= 1
    (bad / "model.onnx").write_bytes(bytes(data))
    done = check(node, bad)
    assert done.returncode == 1
    assert f"FAIL {bad}: {bad / 'model.onnx'} is not the model its card describes" in done.stdout


def test_a_card_without_golden_vectors_is_refused(
    node: str, model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    bad = copy_model(model_dirs["synthetic"], tmp_path / "plain")
    card = json.loads((bad / "model.json").read_text())
    del card["golden"]
    (bad / "model.json").write_text(json.dumps(card))
    done = check(node, bad)
    assert done.returncode == 1
    assert f'FAIL {bad}: model.json has no "golden" section' in done.stdout


def test_without_a_model_dir_it_says_how_to_call_it(node: str) -> None:
    done = check(node)
    assert done.returncode == 2
    assert "usage: node check_golden.mjs MODEL_DIR" in done.stderr
