"""Forward hooks attached for the duration of a ``with`` block, and removed after.

The one place that registers hooks: both interventions and statistics collection
go through :func:`attached`, which removes exactly the handles it added, also
when the block raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

Hook = Callable[[Any, Any, Any], Any]


@contextlib.contextmanager
def attached(
    pairs: Sequence[tuple[nn.Module, Hook]],
    pre: Sequence[tuple[nn.Module, Callable[..., Any]]] = (),
) -> Iterator[None]:
    """Register forward hooks (``pairs``) and forward pre-hooks with kwargs (``pre``)."""
    handles = []
    try:
        for module, pre_hook in pre:
            handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
        for module, hook in pairs:
            handles.append(module.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()
