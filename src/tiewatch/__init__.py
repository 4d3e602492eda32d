"""tiewatch: watch the ties between public accounts and report, with evidence, when one changes.

`tiewatch.Tiewatch` is the library API (see docs/api.md); it is imported on first use, so that
`import tiewatch` (and `tiewatch --help`) stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Tiewatch", "TiewatchError", "__version__"]

if TYPE_CHECKING:
    from tiewatch.api import Tiewatch
    from tiewatch.errors import TiewatchError


def __getattr__(name: str) -> Any:
    if name == "Tiewatch":
        from tiewatch.api import Tiewatch

        return Tiewatch
    if name == "TiewatchError":
        from tiewatch.errors import TiewatchError

        return TiewatchError
    raise AttributeError(f"module 'tiewatch' has no attribute {name!r}")
