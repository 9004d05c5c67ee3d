"""The Hugging Face Spaces ZeroGPU decorator, or a stand-in that does nothing where ``spaces`` is missing."""

from __future__ import annotations

from typing import Any, Callable, Optional

try:  # pragma: no cover - `spaces` only exists on Hugging Face Spaces
    import spaces

    GPU: Callable[..., Any] = spaces.GPU
except ImportError:

    def GPU(fn: Optional[Callable[..., Any]] = None, **_kwargs: Any) -> Any:
        """Stand-in for ``spaces.GPU`` off Spaces: works bare (``@GPU``) and with args (``@GPU(duration=60)``)."""
        if fn is None:
            return lambda inner: inner
        return fn
