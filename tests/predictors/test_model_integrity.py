"""A model folder is checked before it is run: model.onnx (and model.skops) against the
sha256 in the card, and the card against what `load` and `evaluate` read from it. Every refusal
is a typed data error naming the file, and the CLI says it in one paragraph (exit 1)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from predictors import api
from predictors import common as c
from predictors.common import ModelCardError, ModelFileMismatch, TrainResult, load

TRAINED_ON = "--trace azure_llm_2023_conv --trace burstgpt_schema_fixture"


@pytest.fixture
def model(output_length: TrainResult, tmp_path: Path) -> Path:
    """A copy of the session's output-length model that a test may damage."""
    return Path(shutil.copytree(output_length.out, tmp_path / "model"))


def edit_card(model: Path, change: Callable[[dict[str, Any]], object]) -> None:
    card = json.loads((model / "model.json").read_text())
    change(card)
    (model / "model.json").write_text(json.dumps(card))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def swap_onnx(model: Path) -> None:
    """Put another valid ONNX model in place: the same graph under another description."""
    import onnx

    graph = onnx.load_from_string((model / "model.onnx").read_bytes())
    graph.doc_string = "not the model the card describes"
    (model / "model.onnx").write_bytes(graph.SerializeToString())


def test_the_card_records_the_sha256_of_the_files_export_wrote(
    model: Path, output_length: TrainResult
) -> None:
    card = json.loads((model / "model.json").read_text())
    assert card["onnx"]["sha256"] == sha256(model / "model.onnx")
    assert card["skops"]["sha256"] == sha256(model / "model.skops")
    assert output_length.test_rows is not None
    assert load(model).predict(output_length.test_rows.head(4)).shape == (4, 3)
    assert set(c.load_pipelines(model)) == {"p10", "p50", "p90"}


@pytest.mark.parametrize("damage", ["one byte", "another model"])
def test_a_swapped_onnx_file_is_refused(model: Path, damage: str) -> None:
    onnx = model / "model.onnx"
    expected = sha256(onnx)
    if damage == "one byte":
        data = bytearray(onnx.read_bytes())
        data[len(data) // 2] ^= 0x01
        onnx.write_bytes(bytes(data))
    else:
        swap_onnx(model)
    actual = sha256(onnx)
    with pytest.raises(ModelFileMismatch) as e:
        load(model)
    assert str(e.value) == (
        f"{onnx} is not the model its card describes: its sha256 is {actual}, model.json "
        f"records {expected}. The file was replaced or damaged after `traces train` wrote it, "
        "and is not run. Restore the original model.onnx from where you got the model, or "
        f"train it again: `traces train output-length {TRAINED_ON} --out {model}`."
    )
    assert e.value.exit_code == 1


def test_a_missing_onnx_file_is_named(model: Path) -> None:
    (model / "model.onnx").unlink()
    with pytest.raises(ModelFileMismatch, match=r"model\.onnx is missing; its card model\.json"):
        load(model)


def test_a_swapped_skops_file_is_refused(model: Path) -> None:
    import skops.io as sio

    (model / "model.skops").write_bytes(sio.dumps({"p50": [1.0]}))
    with pytest.raises(ModelFileMismatch, match=r"model\.skops is not the file its card"):
        c.load_pipelines(model)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda card: card["onnx"].pop("sha256"), "it records no sha256 for model.onnx"),
        (lambda card: card["onnx"].update(sha256="abc"), "'onnx.sha256' must be 64 lowercase"),
        (lambda card: card.pop("onnx"), "'onnx' (the file and its sha256) is missing"),
        (lambda card: card["features"][1].update(unit=5), "'features[1].unit' must be str"),
        (lambda card: card["features"][0].pop("name"), "'features[0].name' is missing"),
        (lambda card: card["features"][0].update(dtype="int"), "'features[0].dtype' must be"),
        (lambda card: card["outputs"][2].update(offset="x"), "'outputs[2].offset' must be float"),
        (lambda card: card["outputs"][0].update(code=1), "'outputs[0]' has unknown keys ['code']"),
        (lambda card: card.update(features=[]), "'features' must be a non-empty list"),
        (lambda card: card.update(parts=["p50"]), "'parts' must map output names"),
        (lambda card: card.update(kind=7), "'kind' must be a string, got 7"),
        (lambda card: card.update(card_version="1"), "'card_version' must be an integer"),
    ],
)
def test_a_damaged_card_is_refused_with_the_key(
    model: Path, change: Callable[[dict[str, Any]], object], problem: str
) -> None:
    edit_card(model, change)
    with pytest.raises(ModelCardError) as e:
        load(model)
    message = str(e.value)
    assert message.startswith(f"{model / 'model.json'} is not a usable model card: {problem}")
    assert "Restore model.json from where you got the model, or train it again" in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"format": ', "is not valid JSON (Expecting value: line 1 column 12"),
        (b"\xff\xfe{}", "is not valid JSON ('utf-8' codec can't decode"),
        ("[1, 2]", 'is not a workload-traces model card (no "format"'),
        ('{"format": "something else"}', 'is not a workload-traces model card (no "format"'),
    ],
)
def test_a_card_that_is_not_a_card_is_refused(model: Path, text: str | bytes, problem: str) -> None:
    card = model / "model.json"
    card.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ModelCardError) as e:
        load(model)
    assert str(e.value).startswith(f"{card} {problem}")


def test_a_card_from_a_newer_version_says_so(model: Path) -> None:
    edit_card(model, lambda card: card.update(card_version=c.CARD_VERSION + 1))
    with pytest.raises(ModelCardError) as e:
        load(model)
    assert str(e.value).startswith(
        f"{model / 'model.json'} is a model card of version {c.CARD_VERSION + 1}, written by a "
        "newer workload-traces than this one"
    )


def test_evaluate_checks_what_its_kind_reads_from_the_card(model: Path, lake: Path) -> None:
    edit_card(model, lambda card: card["training"].pop("data"))
    with pytest.raises(ModelCardError, match=r"'training\.data' must be a list, got None"):
        api.evaluate(model, lake, "azure_llm_2023_conv")


@pytest.mark.parametrize(
    "edit",
    [
        lambda card: card["options"].pop("load"),
        lambda card: card["options"].update(history_lag_s=0),
        lambda card: card.update(kind="size"),
        lambda card: card["outputs"][0].update(offset=1.0),
        lambda card: card["features"][0].update(name="input_tokenz"),
    ],
)
def test_a_card_edited_where_it_defines_the_model_is_refused(model: Path, edit) -> None:
    """kind, features, outputs, parts and options: model.onnx records their digest."""
    edit_card(model, edit)
    with pytest.raises(ModelCardError, match=r"was edited after `traces train` wrote it"):
        load(model)


def test_evaluate_with_deeper_damage_is_a_card_error(model: Path, lake: Path) -> None:
    edit_card(model, lambda card: card.update(baselines={"x": 1}))
    with pytest.raises(ModelCardError) as e:
        api.evaluate(model, lake, "azure_llm_2023_conv")
    assert "is not a usable output-length model card: reading it failed at KeyError(" in str(
        e.value
    )


def test_cli_evaluate_refuses_a_tampered_model_in_one_paragraph(
    cli, model: Path, lake: Path
) -> None:
    args = ("evaluate", model, "--trace", "azure_llm_2023_conv", "--lake", lake)
    code, out, err = cli(*args, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["rows"] > 0
    swap_onnx(model)
    code, out, err = cli(*args)
    assert code == 1
    assert err.startswith(f"{model / 'model.onnx'} is not the model its card describes")
    assert "Unexpected error" not in out + err and "Traceback" not in err
    (model / "model.json").write_text("{")
    code, out, err = cli(*args)
    assert code == 1 and err.startswith(f"{model / 'model.json'} is not valid JSON")
    assert "Unexpected error" not in out + err
