"""/api/v1/docs is styled by a static file: the site's CSP (style-src 'self') blocks inline styles."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.staticfiles import finders
from django.test import Client


def test_the_docs_page_has_no_inline_style_and_links_its_stylesheet(db: Any) -> None:
    response = Client().get("/api/v1/docs")
    html = response.content.decode()
    assert "<style" not in html and "style=" not in html
    [href] = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    assert href == "/static/tokens/api_docs.css"
    assert finders.find("tokens/api_docs.css")
    assert "style-src 'self'" in response["Content-Security-Policy"]
