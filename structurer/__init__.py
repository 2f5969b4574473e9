"""structurer: strict, validated records from report texts, with people in the loop.

The public API (`structurer.api`): `extract(text_or_path, settings=None) -> Result` and
`extract_many(paths, settings=None) -> BatchResult`. Imported on first use, so importing a
submodule (e.g. `structurer.settings`) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["BatchResult", "FieldResult", "Result", "extract", "extract_many"]

if TYPE_CHECKING:
    from structurer.api import BatchResult, FieldResult, Result, extract, extract_many


def __getattr__(name: str) -> Any:
    if name in __all__:
        from structurer import api

        return getattr(api, name)
    raise AttributeError(f"module 'structurer' has no attribute {name!r}")
