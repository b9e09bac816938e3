"""Small helpers shared by the browser journeys."""

from __future__ import annotations

from django.utils import translation
from playwright.sync_api import Locator, Page


def zh(text) -> str:
    """A message id, or a lazy label such as Stage.SELF.label, as the Chinese page shows it."""
    with translation.override("zh-hans"):
        return translation.gettext(text) if type(text) is str else str(text)


def row(page: Page, indicator) -> Locator:
    """The score-entry row of an indicator."""
    return page.locator(f"#row-{indicator.id}")


def points(page: Page, indicator) -> Locator:
    return row(page, indicator).locator("input.score-input")


def note(page: Page, indicator) -> Locator:
    return row(page, indicator).locator("textarea")


def veto(page: Page, indicator) -> Locator:
    return row(page, indicator).locator("select")


def no_horizontal_scroll(page: Page, width: int) -> None:
    """Fail if the document is wider than the viewport (the user would have to scroll sideways)."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        culprits = page.evaluate(
            """(width) => Array.from(document.querySelectorAll('body *'))
                .filter(e => e.getBoundingClientRect().right > width + 1)
                .filter(e => !e.closest('.table-responsive'))
                .slice(0, 8)
                .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                     + (e.className && typeof e.className === 'string'
                        ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                     + ' right=' + Math.round(e.getBoundingClientRect().right))""",
            width,
        )
        raise AssertionError(
            f"{page.url}: page is {scroll_width}px wide on a {width}px screen; too wide: {culprits}"
        )
