"""What the reader's pages show of a story: labels, a snippet, why it was kept, its copies.

Used by the templates in store/templates/ through the Datasette plugin (store.datasette).
Everything returned is plain text; the templates escape it.
"""

import json
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
STATIC_MOUNT = "zgcwatch-assets"  # not the database's name: its routes would be shadowed
SOURCES = {"chinadaily": "China Daily", "zgcgw": "Zhongguancun administration (zgcgw)",
           "seed": "seed"}
LANGUAGES = {"en": "English", "zh": "中文"}
SNIPPET_CHARS = 300


def terms(matched_terms):
    """The topic terms a story matched, in order, each once; from the stored JSON."""
    if not matched_terms:
        return []
    try:
        data = json.loads(matched_terms)
    except ValueError:
        return [matched_terms]
    found = []

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value not in found:
            found.append(value)

    walk(data)
    return found


def snippet(body, limit=SNIPPET_CHARS):
    """The start of a body as one line of text, cut at `limit` characters."""
    text = " ".join((body or "").split())
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def story(row, copies=None):
    """A stories-page entry from a row (sqlite3.Row or dict) and {original id: copies}."""
    data = dict(zip(row.keys(), tuple(row), strict=True)) if hasattr(row, "keys") else row
    return {
        "id": data.get("id"),
        "title": data.get("title") or data.get("url"),
        "url": data.get("url"),
        "date": (data.get("published") or "")[:10] or "undated",
        "source": SOURCES.get(data.get("source"), data.get("source")),
        "lang": data.get("lang"),
        "language": LANGUAGES.get(data.get("lang"), data.get("lang")),
        "snippet": snippet(data.get("body")),
        "terms": terms(data.get("matched_terms")),
        "relevance": data.get("relevance"),
        # articles.evidence (schema version 5); a row from an older store has none
        "evidence": data.get("evidence"),
        "review": data.get("review"),
        "copies": (copies or {}).get(data.get("id"), 0),
        "paragraphs": [p for p in (data.get("body") or "").split("\n") if p.strip()],
    }


COPIES_SQL = ("SELECT duplicate_of, count(*) FROM articles WHERE duplicate_of IS NOT NULL "
              "GROUP BY duplicate_of")
