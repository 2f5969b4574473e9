"""Fit P(correct | signals) on gold-labelled fields, store it as a versioned artifact, load it.

The fused model is a small L2-regularised logistic regression over `signals.FEATURES` plus
the default prior's logit (`prior_logit`, the weights of `default.py` frozen into the
artifact): a signal never seen in training (e.g. table cells when the only tabled gold
document is held out) still moves confidence the way the prior says, and the penalty
shrinks the learnt weights towards "trust the prior" rather than towards "know nothing".
(or, with method="isotonic", an isotonic map of the default prior score). With a handful of
gold documents, overfitting is held back by:

- few, mostly binary features and an L2 penalty whose strength C is picked by
  leave-one-document-out cross-validation (log loss), never on the fitted data;
- all reported quality numbers (AUROC, ECE, Brier, errors caught) are *out-of-fold*: each
  document's fields are scored by a model that never saw that document;
- predictions are clipped to [1/(n+2), 1 - 1/(n+2)]: a few hundred fields cannot justify
  certainty.

Artifacts live under `<data_dir>/calibration/<version>.json`; `<data_dir>/calibration/current`
names the one in use. The version is a hash of what determines predictions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from structurer.confidence.default import INTERCEPT, WEIGHTS
from structurer.confidence.signals import FEATURES
from structurer.settings import Settings

Method = Literal["logistic", "isotonic"]
C_GRID: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)
POINTER = "current"
PRIOR = "prior_logit"
DESIGN: tuple[str, ...] = (PRIOR, *FEATURES)


@dataclass(frozen=True)
class Sample:
    """One predicted (non-null) field of a gold document, labelled correct or not."""

    doc: str
    path: str
    features: Mapping[str, float]
    correct: bool


class CalibrationArtifact(BaseModel):
    version: str = ""
    created_at: str = ""
    method: Method = "logistic"
    features: list[str]
    coefficients: list[float] = Field(default_factory=list)
    intercept: float = 0.0
    prior_weights: dict[str, float] = Field(default_factory=lambda: dict(WEIGHTS))
    prior_intercept: float = INTERCEPT
    C: float | None = None
    isotonic_x: list[float] = Field(default_factory=list)  # prior score -> P(correct)
    isotonic_y: list[float] = Field(default_factory=list)
    clip: tuple[float, float] = (0.0, 1.0)
    n_train: int = 0
    n_correct: int = 0
    docs: list[str] = Field(default_factory=list)
    fitted_on: dict[str, Any] = Field(default_factory=dict)  # extraction settings + hash
    cv: dict[str, Any] = Field(default_factory=dict)  # out-of-fold metrics
    oof: list[tuple[float, int]] = Field(default_factory=list)  # out-of-fold (confidence, correct)

    def predict(self, feats: Mapping[str, float]) -> float:
        if self.method == "isotonic":
            p = float(np.interp(self.prior(feats), self.isotonic_x, self.isotonic_y))
        else:
            z = self.intercept + sum(
                c * x for c, x in zip(self.coefficients, self.row(feats), strict=True)
            )
            p = 1.0 / (1.0 + math.exp(-z))
        lo, hi = self.clip
        return min(max(p, lo), hi)

    def prior(self, feats: Mapping[str, float]) -> float:
        return prior_score(feats, self.prior_weights, self.prior_intercept)

    def row(self, feats: Mapping[str, float]) -> list[float]:
        """The design row of one field, in `features` order."""
        return [
            self.prior(feats) if n == PRIOR else float(feats.get(n, 0.0)) for n in self.features
        ]

    def content_hash(self) -> str:
        blob = json.dumps(
            {
                "method": self.method,
                "features": self.features,
                "coefficients": [round(c, 8) for c in self.coefficients],
                "intercept": round(self.intercept, 8),
                "isotonic": [self.isotonic_x, self.isotonic_y],
                "clip": self.clip,
                "prior": [self.prior_weights, self.prior_intercept],
                "fitted_on": self.fitted_on,
                "n_train": self.n_train,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def prior_score(
    feats: Mapping[str, float], weights: Mapping[str, float] = WEIGHTS, intercept: float = INTERCEPT
) -> float:
    """The default (unfitted) logit of `default.py`."""
    return intercept + sum(weights.get(k, 0.0) * v for k, v in feats.items())


# ---------------------------------------------------------------- fitting


def _matrix(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    template = CalibrationArtifact(features=list(DESIGN))
    x = np.array([template.row(s.features) for s in samples], dtype=float).reshape(
        len(samples), len(DESIGN)
    )
    y = np.array([int(s.correct) for s in samples], dtype=int)
    groups = np.array([s.doc for s in samples])
    return x, y, groups


def _fit_predict(
    method: Method, c: float, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit on train, predict test. One class only: predict its smoothed rate."""
    n = len(y_train)
    rate = (y_train.sum() + 1) / (n + 2)
    if len(set(y_train.tolist())) < 2:
        constant: dict[str, Any] = {
            "coefficients": [0.0] * x_train.shape[1],
            "intercept": math.log(rate / (1 - rate)),
        }
        return np.full(len(x_test), rate), constant
    if method == "isotonic":
        prior, test_prior = x_train[:, DESIGN.index(PRIOR)], x_test[:, DESIGN.index(PRIOR)]
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(prior, y_train)
        params: dict[str, Any] = {
            "isotonic_x": [float(v) for v in iso.X_thresholds_],
            "isotonic_y": [float(v) for v in iso.y_thresholds_],
        }
        return np.asarray(iso.predict(test_prior), dtype=float), params
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, y_train)
    params = {
        "coefficients": [float(v) for v in model.coef_[0]],
        "intercept": float(model.intercept_[0]),
    }
    return model.predict_proba(x_test)[:, 1], params


def out_of_fold(
    method: Method, c: float, x: np.ndarray, y: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """Leave-one-document-out predictions: each document scored by a model fitted without it."""
    pred = np.zeros(len(y), dtype=float)
    docs = sorted(set(groups.tolist()))
    if len(docs) < 2:
        pred[:] = (y.sum() + 1) / (len(y) + 2)
        return pred
    for doc in docs:
        test = groups == doc
        p, _ = _fit_predict(method, c, x[~test], y[~test], x[test])
        pred[test] = p
    return pred


def fit(
    samples: Sequence[Sample],
    *,
    method: Method = "logistic",
    fitted_on: Mapping[str, Any] | None = None,
) -> CalibrationArtifact:
    """Fit the calibrator on labelled fields; C by leave-one-document-out log loss."""
    if not samples:
        raise ValueError("no labelled fields to calibrate on")
    x, y, groups = _matrix(samples)
    n = len(y)
    clip = (1.0 / (n + 2), 1.0 - 1.0 / (n + 2))
    grid = C_GRID if method == "logistic" else (1.0,)
    best_c, best_loss = grid[0], math.inf
    best_oof: np.ndarray = np.zeros(n)
    for c in grid:
        oof = np.clip(out_of_fold(method, c, x, y, groups), *clip)
        loss = log_loss(y, oof, labels=[0, 1])
        if loss < best_loss - 1e-12:
            best_c, best_loss, best_oof = c, loss, oof
    _, params = _fit_predict(method, best_c, x, y, x[:1])
    artifact = CalibrationArtifact(
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        method=method,
        features=list(DESIGN),
        C=best_c if method == "logistic" else None,
        clip=clip,
        n_train=n,
        n_correct=int(y.sum()),
        docs=sorted(set(groups.tolist())),
        fitted_on=dict(fitted_on or {}),
        oof=[(round(float(p), 6), int(t)) for p, t in zip(best_oof, y, strict=True)],
        cv={"log_loss": round(float(best_loss), 6), "scheme": "leave-one-document-out"},
        **params,
    )
    if method == "isotonic" and not artifact.isotonic_x:  # one class only: constant map
        rate = float(clip[0] if y.sum() == 0 else clip[1])
        artifact.isotonic_x, artifact.isotonic_y = [0.0], [rate]
    artifact.version = artifact.content_hash()
    return artifact


# ---------------------------------------------------------------- storage


def calibration_dir(settings: Settings) -> Path:
    return settings.data_dir / "calibration"


def save(artifact: CalibrationArtifact, settings: Settings, *, make_current: bool = True) -> Path:
    folder = calibration_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{artifact.version}.json"
    path.write_text(artifact.model_dump_json(indent=2), encoding="utf-8")
    if make_current:
        tmp = folder / f".{POINTER}.tmp"
        tmp.write_text(artifact.version + "\n", encoding="utf-8")
        tmp.replace(folder / POINTER)
    return path


def artifact_path(settings: Settings) -> Path | None:
    """The artifact in use: settings.calibration_file, else the `current` pointer, else None."""
    explicit = getattr(settings, "calibration_file", None)
    if explicit:
        return Path(explicit)
    pointer = calibration_dir(settings) / POINTER
    if not pointer.is_file():
        return None
    version = pointer.read_text(encoding="utf-8").strip()
    path = calibration_dir(settings) / f"{version}.json"
    return path if path.is_file() else None


_cache: dict[tuple[str, float], CalibrationArtifact] = {}


def load(path: Path) -> CalibrationArtifact:
    key = (str(path), path.stat().st_mtime)
    if key not in _cache:
        _cache[key] = CalibrationArtifact.model_validate_json(path.read_text(encoding="utf-8"))
    return _cache[key]


def load_current(settings: Settings) -> CalibrationArtifact | None:
    path = artifact_path(settings)
    return load(path) if path is not None else None


def current_version(settings: Settings) -> str | None:
    """The calibration version a run with these settings records (None: default prior)."""
    artifact = load_current(settings)
    return artifact.version if artifact is not None else None
