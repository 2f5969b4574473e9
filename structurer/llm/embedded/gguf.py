"""A minimal reader for the metadata of a GGUF file (llama.cpp's model format).

Only the header and the key/value metadata are read; tensors are never touched. Scalar and
string values are returned as Python values; arrays (e.g. the tokenizer vocabulary) are
skipped and returned as their length, so a 150k-token vocabulary costs almost nothing.
Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (versions 2 and 3).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

GGUF_MAGIC = b"GGUF"

MetaValue = int | float | bool | str

# value type id -> struct format (little-endian) for fixed-size scalars
_SCALARS: dict[int, str] = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
_STRING = 8
_ARRAY = 9
_MAX_STRING = 1 << 24  # a metadata string longer than 16 MiB means the file is corrupt


class GGUFError(ValueError):
    """The file is not a readable GGUF file."""


def read_gguf_metadata(
    path: Path, stop_after: frozenset[str] | None = None
) -> dict[str, MetaValue]:
    """Read the metadata of a GGUF file.

    Returns `{key: value}` plus the pseudo-keys `gguf.version` and `gguf.tensor_count`.
    Array values are replaced by their length. With `stop_after`, reading stops as soon as all
    those keys have been seen (the `general.*` keys come first in practice).
    """
    try:
        with path.open("rb") as f:
            return _read(f, stop_after)
    except (struct.error, UnicodeDecodeError, EOFError) as e:
        raise GGUFError(f"{path}: truncated or corrupt GGUF header ({e})") from e


def _read(f: BinaryIO, stop_after: frozenset[str] | None) -> dict[str, MetaValue]:
    magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise GGUFError(f"{getattr(f, 'name', 'file')}: not a GGUF file (magic {magic!r})")
    (version,) = _unpack(f, "<I")
    if version not in (2, 3):
        raise GGUFError(f"unsupported GGUF version {version} (need 2 or 3)")
    tensor_count, kv_count = _unpack(f, "<QQ")
    meta: dict[str, MetaValue] = {"gguf.version": version, "gguf.tensor_count": tensor_count}
    wanted = set(stop_after or ())
    for _ in range(kv_count):
        key = _read_string(f)
        (vtype,) = _unpack(f, "<I")
        meta[key] = _read_value(f, vtype)
        wanted.discard(key)
        if stop_after is not None and not wanted:
            break
    return meta


def _unpack(f: BinaryIO, fmt: str) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise EOFError("unexpected end of file")
    return struct.unpack(fmt, data)


def _read_string(f: BinaryIO) -> str:
    (n,) = _unpack(f, "<Q")
    if n > _MAX_STRING:
        raise GGUFError(f"metadata string of {n} bytes: corrupt file")
    data = f.read(n)
    if len(data) != n:
        raise EOFError("unexpected end of file")
    return data.decode("utf-8")


def _read_value(f: BinaryIO, vtype: int) -> MetaValue:
    if vtype in _SCALARS:
        value = _unpack(f, _SCALARS[vtype])[0]
        return bool(value) if vtype == 7 else value
    if vtype == _STRING:
        return _read_string(f)
    if vtype == _ARRAY:
        (item_type,) = _unpack(f, "<I")
        (count,) = _unpack(f, "<Q")
        _skip_array(f, item_type, count)
        return count
    raise GGUFError(f"unknown GGUF value type {vtype}")


def _skip_array(f: BinaryIO, item_type: int, count: int) -> None:
    if item_type in _SCALARS:
        f.seek(struct.calcsize(_SCALARS[item_type]) * count, 1)
    elif item_type == _STRING:
        for _ in range(count):
            (n,) = _unpack(f, "<Q")
            if n > _MAX_STRING:
                raise GGUFError(f"metadata string of {n} bytes: corrupt file")
            f.seek(n, 1)
    elif item_type == _ARRAY:
        for _ in range(count):
            (inner_type,) = _unpack(f, "<I")
            (inner_count,) = _unpack(f, "<Q")
            _skip_array(f, inner_type, inner_count)
    else:
        raise GGUFError(f"unknown GGUF array item type {item_type}")


def write_gguf_header(path: Path, metadata: Mapping[str, str | int], version: int = 3) -> None:
    """Write a GGUF file holding only metadata (no tensors). Used by tests and tools."""
    with path.open("wb") as f:
        f.write(GGUF_MAGIC + struct.pack("<IQQ", version, 0, len(metadata)))
        for key, value in metadata.items():
            kb = key.encode()
            f.write(struct.pack("<Q", len(kb)) + kb)
            if isinstance(value, str):
                vb = value.encode()
                f.write(struct.pack("<IQ", _STRING, len(vb)) + vb)
            else:
                f.write(struct.pack("<Iq", 11, value))
