"""The stream's local order books: which markets have one, and what to do with a book frame.

:class:`BookKeeper` is the compiled keeper unless extensions are disabled (see ``book``);
:class:`BookResync` is what it returns when a book must be resubscribed.
"""

from __future__ import annotations

from .book import BookKeeper, BookResync

__all__ = ["BookKeeper", "BookResync"]
