"""Which clients get Swagger UI on /doc: those that prefer HTML to JSON (browsers)."""

from __future__ import annotations

import pytest

from app.models.doc import ASSETS, assets_dir
from app.routers.doc import prefers_html


@pytest.mark.parametrize(
    "accept",
    [
        # Chromium, Firefox, Safari.
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
        "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
        "image/png,image/svg+xml,*/*;q=0.8",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "TEXT/HTML",
        "application/json;q=0.5, text/html",
        "text/*",
    ],
)
def test_browsers_get_html(accept: str) -> None:
    assert prefers_html(accept)


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "*/*",  # curl, requests, httpx
        "application/json",
        "application/json, */*;q=0.5",  # httpie
        "text/html, application/json",  # a tie stays JSON, the module's answer
        "text/html;q=0, */*",
        "text/html;q=bogus, application/json",
        "image/png",
    ],
)
def test_other_clients_get_json(accept: str | None) -> None:
    assert not prefers_html(accept)


def test_the_package_ships_every_file_the_pages_load() -> None:
    # A fastapi-standalone-docs release that moves its files fails here, not in a browser.
    for asset in ASSETS:
        assert (assets_dir() / asset).is_file(), asset
