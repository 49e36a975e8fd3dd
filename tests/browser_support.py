"""What the browser tests share: Debian's Chromium, headless, and the folder
their screenshots go to (var/screenshots, to look at after a run)."""

from contextlib import contextmanager
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def persistent_context(chromium_path, profile_dir, width=1360, height=860):
    """A Chromium browser context with its own profile, Chinese locale."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
            locale="zh-CN",
        )
        try:
            yield context
        finally:
            context.close()
