"""Checking recorded REST calls against Discord's OpenAPI description: path template, method, query and body keys."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "discord-openapi.json"


@dataclass
class Operation:
    template: str
    method: str
    spec: dict


class DiscordSpec:
    def __init__(self, path: Path = SPEC) -> None:
        self.doc = json.loads(path.read_text(encoding="utf-8"))
        base = self.doc["servers"][0]["url"]
        self.prefix = re.sub(r"^https?://[^/]+", "", base)  # /api/v10
        self.paths = [(template, re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"))
                      for template in self.doc["paths"]]

    def operation(self, method: str, path: str) -> Operation | None:
        """The documented operation for a concrete path; literal segments win over parameters (/users/@me)."""
        found = [t for t, regex in self.paths if regex.match(path)]
        found.sort(key=lambda t: -len(re.sub(r"\{[^}]+\}", "", t)))
        for template in found:
            spec = self.doc["paths"][template].get(method.lower())
            if spec is not None:
                return Operation(template, method, spec)
        return None

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            node: Any = self.doc
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def branches(self, schema: dict) -> list[dict]:
        """A schema and all it unites (anyOf/oneOf/allOf), resolved."""
        schema = self.resolve(schema)
        out = [schema]
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                out += self.branches(sub)
        return out

    def problems(self, value: Any, schema: dict, where: str) -> list[str]:
        """Keys the schema does not document, at any depth."""
        branches = self.branches(schema)
        if isinstance(value, dict):
            props: dict[str, list[dict]] = {}
            open_ended = False
            for branch in branches:
                for name, sub in branch.get("properties", {}).items():
                    props.setdefault(name, []).append(sub)
                open_ended |= bool(branch.get("additionalProperties")) and not branch.get("properties")
            if not props:
                return []  # a free-form object
            out = []
            for key, item in value.items():
                if key not in props:
                    if not open_ended:
                        out.append(f"{where}.{key}")
                    continue
                if isinstance(item, (dict, list)):
                    nested = [p for p in (self._first(s, item) for s in props[key]) if p is not None]
                    if nested and all(self.problems(item, s, f"{where}.{key}") for s in nested):
                        out += self.problems(item, nested[0], f"{where}.{key}")
            return out
        if isinstance(value, list):
            items = [b["items"] for b in branches if "items" in b]
            if not items:
                return []
            out = []
            for index, element in enumerate(value):
                if all(self.problems(element, s, f"{where}[{index}]") for s in items):
                    out += self.problems(element, items[0], f"{where}[{index}]")
            return out
        return []

    def _first(self, schema: dict, value: Any) -> dict | None:
        """The schema itself when it can hold this kind of value (object or array), else None."""
        kinds = {"object"} if isinstance(value, dict) else {"array"}
        for branch in self.branches(schema):
            declared = branch.get("type")
            declared = set(declared) if isinstance(declared, list) else {declared}
            if declared & kinds or ("properties" in branch and isinstance(value, dict)):
                return schema
        return None

    def body_schema(self, operation: Operation) -> dict | None:
        content = operation.spec.get("requestBody", {}).get("content", {})
        for kind in ("application/json", "multipart/form-data"):
            if kind in content:
                return content[kind]["schema"]
        return None

    def query_names(self, operation: Operation) -> set[str]:
        params = self.doc["paths"][operation.template].get("parameters", []) + operation.spec.get("parameters", [])
        return {self.resolve(p)["name"] for p in params if self.resolve(p).get("in") == "query"}
