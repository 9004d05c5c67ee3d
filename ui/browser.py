"""Serving the app on a free local port and driving it in a browser the way a visitor does.

Shared by the app and browser tests, the load test and ``scripts/make_screenshots.py``, so the
README's screenshots are taken with the same interactions the browser tests check. The Playwright
helpers take a ``page`` and import nothing from Playwright themselves: the app never needs it.
"""

from __future__ import annotations

import socket

#: True once an ``<img>`` has decoded its picture, or a ``<video>`` has its first frame's metadata.
_MEDIA_LOADED = "(el) => el.tagName === 'VIDEO' ? el.readyState > 0 : (el.complete && el.naturalWidth > 0)"


def free_local_port() -> int:
    """A port on 127.0.0.1 nothing listens on now (the OS picks it), for a test or local server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def choose_option(page, dropdown: str, option: str) -> None:
    """Pick ``option`` in the Gradio dropdown ``dropdown`` (a CSS selector) by clicking, as a visitor does."""
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def wait_for_image(page, selector: str) -> None:
    """Wait until the first ``<img>`` (or ``<video>``) matching ``selector`` is visible and really loaded."""
    element = page.locator(selector).first
    element.wait_for(state="visible")
    page.wait_for_function(_MEDIA_LOADED, arg=element.element_handle())
