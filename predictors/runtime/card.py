"""The model card (model.json) and the model file it vouches for, read with the standard
library only: what `load` checks before anything runs.

A card names the kind, the features (ONNX inputs, in order, with units) and the outputs, and
records the sha256 of model.onnx; a card that lacks a key `load` needs, or a model file that is
not the one the card records, is refused with the key or the checksum and the way to restore it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import MISSING as MISSING_FIELD
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predictors.runtime.errors import ModelCardError, ModelFileMismatch, PredictorDataError

CARD = "model.json"
ONNX = "model.onnx"
SKOPS = "model.skops"
CARD_FORMAT = "workload-traces model"
# 2: features say how a missing value is treated (`Feature.missing`); a version-1 card's
# features all pass NaN through, as version 1 did.
CARD_VERSION = 2
MISSING = "unknown"  # what a null categorical becomes, in training and at prediction time
MISSING_VALUES = ("error", "nan")
# The card's parts that say what the graph computes and how its inputs are made: their digest
# is written into model.onnx at export, so an edited card is refused, not silently obeyed.
DEFINING = ("kind", "features", "outputs", "parts", "options")
DIGEST_KEY = "workload_traces.card_sha256"


def card_digest(card: Mapping[str, Any]) -> str:
    """sha256 of the DEFINING parts of a card, as canonical JSON."""
    part = {k: card.get(k) for k in DEFINING}
    text = json.dumps(part, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Feature:
    """One model input: an ONNX input `[N, 1]` of the same name, in `unit`. Floats reach the
    pipelines as float32, as ONNX sees them; trees need no log of a feature."""

    name: str
    unit: str
    dtype: str  # "float" | "string"
    description: str
    # "error": a missing or NaN value is refused, naming the feature; "nan": NaN means "none"
    # (no history yet, a trace without sessions) and reaches the trees, which route it.
    missing: str = "error"


@dataclass(frozen=True)
class Output:
    """One model output `[N, 1]` computed from its pipeline's raw prediction r as
    `inverse(r + offset) * scale_by` (scale_by a float feature, or 1), then kept at most /
    at least another output (so that quantiles never cross: p10 <= p50 <= p90)."""

    name: str
    unit: str
    description: str
    inverse: str = "identity"  # "identity" | "exp" | "expm1"
    offset: float = 0.0
    scale_by: str | None = None
    at_most: str | None = None
    at_least: str | None = None


def read_card(model_dir: Path) -> dict[str, Any]:
    """The model card of MODEL_DIR, checked: everything `load` and `parity` read from it is
    there with the right type (ModelCardError names the first key that is not)."""
    path = Path(model_dir) / CARD
    if not path.is_file():
        raise PredictorDataError(
            f"{model_dir} is not a model folder: it has no {CARD}. Make one with "
            "`traces train KIND --lake DIR --trace NAME --out MODEL_DIR`."
        )
    try:
        card = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, OSError) as e:  # UnicodeDecodeError is a ValueError
        raise ModelCardError(
            f"{path} is not valid JSON ({e}). {_RESTORE.format(what=CARD, dir=model_dir)}"
        ) from e
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelCardError(
            f'{path} is not a workload-traces model card (no "format": "{CARD_FORMAT}"). '
            + _RESTORE.format(what=CARD, dir=model_dir)
        )
    version = card.get("card_version")
    if isinstance(version, int) and version > CARD_VERSION:
        raise ModelCardError(
            f"{path} is a model card of version {version}, written by a newer workload-traces "
            f"than this one (which reads version {CARD_VERSION}). Upgrade workload-traces, or "
            f"train the model again with this one: {retrain_command(card, model_dir)}."
        )
    if version == 1:
        for feature in card.get("features") or []:
            if isinstance(feature, dict):
                feature.setdefault("missing", "nan")
    problem = card_problem(card)
    if problem:
        raise ModelCardError(
            f"{path} is not a usable model card: {problem}. The card was edited or damaged "
            f"after `traces train` wrote it. Restore {CARD} from where you got the model, or "
            f"train it again: {retrain_command(card, model_dir)}."
        )
    return dict(card)


_RESTORE = (
    "Restore {what} from where you got the model, or train it again: "
    "`traces train KIND --trace NAME --out {dir}`."
)


def retrain_command(card: Any, model_dir: Path) -> str:
    """`traces train ...` for this model, as far as the (possibly damaged) card tells."""
    kind = card.get("kind") if isinstance(card, dict) else None
    training = card.get("training") if isinstance(card, dict) else None
    data = training.get("data") if isinstance(training, dict) else None
    traces = [
        d["trace"] for d in data or [] if isinstance(d, dict) and isinstance(d.get("trace"), str)
    ]
    args = " ".join(f"--trace {t}" for t in traces) if traces else "--trace NAME"
    return f"`traces train {kind if isinstance(kind, str) else 'KIND'} {args} --out {model_dir}`"


_SHA256_HEX = frozenset("0123456789abcdef")


def card_problem(card: Mapping[str, Any]) -> str | None:
    """The first thing wrong with the parts of a card every kind shares, or None.

    What each kind's `evaluate` reads beyond these is checked by `predictors.api`."""
    version = card.get("card_version")
    if not isinstance(version, int) or isinstance(version, bool):
        return f"'card_version' must be an integer, got {version!r}"
    if not isinstance(card.get("kind"), str):
        return f"'kind' must be a string, got {card.get('kind')!r}"
    onnx = card.get("onnx")
    if not isinstance(onnx, dict):
        return "'onnx' (the file and its sha256) is missing"
    digest = onnx.get("sha256")
    if digest is None:
        return (
            f"it records no sha256 for {ONNX} ('onnx.sha256'), so the model file cannot be "
            "checked; every card `traces train` writes records one"
        )
    if not (isinstance(digest, str) and len(digest) == 64 and set(digest) <= _SHA256_HEX):
        return f"'onnx.sha256' must be 64 lowercase hex digits, got {digest!r}"
    if onnx.get("file", ONNX) != ONNX:
        return f"'onnx.file' must be {ONNX!r}, got {onnx.get('file')!r}"
    for key, cls in (("features", Feature), ("outputs", Output)):
        items = card.get(key)
        if not isinstance(items, list) or not items:
            return f"'{key}' must be a non-empty list, got {_short(items)}"
        for i, item in enumerate(items):
            problem = _dataclass_problem(item, cls, f"{key}[{i}]")
            if problem:
                return problem
    for i, feature in enumerate(card["features"]):
        if feature["dtype"] not in ("float", "string"):
            return f"'features[{i}].dtype' must be 'float' or 'string', got {feature['dtype']!r}"
        if feature.get("missing", "error") not in MISSING_VALUES:
            return (
                f"'features[{i}].missing' must be one of {MISSING_VALUES}, got "
                f"{feature['missing']!r}"
            )
    parts = card.get("parts")
    if not isinstance(parts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parts.items()
    ):
        return f"'parts' must map output names to pipeline names, got {_short(parts)}"
    return None


def _dataclass_problem(item: Any, cls: type, where: str) -> str | None:
    """Whether `item` can build `cls`: a JSON object with its required fields, no others, and
    the declared simple types (str, float, str | None)."""
    if not isinstance(item, dict):
        return f"'{where}' must be an object, got {_short(item)}"
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    unknown = sorted(set(item) - set(fields))
    if unknown:
        return f"'{where}' has unknown keys {unknown}"
    for name, f in fields.items():
        if name not in item:
            if f.default is MISSING_FIELD:
                return f"'{where}.{name}' is missing"
            continue
        value, want = item[name], str(f.type)
        ok = (
            (want == "str" and isinstance(value, str))
            or (want == "str | None" and (value is None or isinstance(value, str)))
            or (want == "float" and isinstance(value, int | float) and not isinstance(value, bool))
        )
        if not ok:
            return f"'{where}.{name}' must be {want}, got {_short(value)}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_onnx(model_dir: Path, card: Mapping[str, Any]) -> bytes:
    """The bytes of MODEL_DIR/model.onnx, refused unless their sha256 is the card's."""
    path = Path(model_dir) / ONNX
    expected = card["onnx"]["sha256"]
    retrain = retrain_command(card, model_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileMismatch(
            f"{path} is missing; its card {CARD} expects a file with sha256 {expected}. "
            f"Restore {ONNX} from where you got the model, or train it again: {retrain}."
        ) from None
    except OSError as e:
        raise ModelFileMismatch(f"{path} cannot be read ({e.strerror or e}).") from e
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelFileMismatch(
            f"{path} is not the model its card describes: its sha256 is {actual}, {CARD} "
            f"records {expected}. The file was replaced or damaged after `traces train` wrote "
            f"it, and is not run. Restore the original {ONNX} from where you got the model, "
            f"or train it again: {retrain}."
        )
    return data
