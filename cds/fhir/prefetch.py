"""Prefetch templates: rendering `{{context.x}}` tokens (CDS Hooks 2.0 subset, pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from cds.errors import UnresolvedToken

TOKEN = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_.]*)\s*\}\}")


def context_tokens(context: Mapping[str, Any]) -> dict[str, str]:
    """Tokens a context provides: root-level primitive fields only, as the spec allows."""
    return {
        f"context.{key}": str(value)
        for key, value in context.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    }


def render(template: str, tokens: Mapping[str, str]) -> str:
    """Replace every token; a token without a value makes the query unusable (raise)."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in tokens:
            raise UnresolvedToken(f"no value for prefetch token {{{{{name}}}}}")
        # Values go into a URL path or query: percent-encode so an id cannot add parameters.
        return quote(tokens[name], safe="")

    return TOKEN.sub(substitute, template)


_RESOURCE_TYPE = re.compile(r"^\s*/?([A-Z][A-Za-z]*)")


def resource_type_of(template: str) -> str:
    """The resource type a template reads: `Observation?patient=...` and `Patient/{{...}}` read
    Observation and Patient ("" for anything else)."""
    match = _RESOURCE_TYPE.match(template)
    return match.group(1) if match else ""
