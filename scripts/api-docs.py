"""docs/api.md from openapi.yaml: one section per operation, with its parameters, body, answers and
its curl example (the `x-curl` that Tests/OpenAPI/run_examples.py runs against a live server).

    python scripts/api-docs.py openapi.yaml docs/api.md           # write
    python scripts/api-docs.py openapi.yaml docs/api.md --check   # fail if docs/api.md is stale

Needs PyYAML (the schemathesis virtualenv under .build/ has it; scripts/api-fuzz.sh runs the check).
"""

import sys

import yaml

METHODS = ["get", "post", "put", "patch", "delete", "options"]


def resolve(document, node):
    while isinstance(node, dict) and "$ref" in node:
        target = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def type_of(document, schema):
    schema = resolve(document, schema or {})
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " or ".join(type_of(document, option) for option in schema[key])
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    text = " or ".join(kinds)
    if "array" in kinds and "items" in schema:
        text = f"array of {type_of(document, schema['items'])}"
    if schema.get("format"):
        text += f" ({schema['format']})"
    bounds = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤")):
        if key in schema:
            bounds.append(f"{label} {schema[key]}")
    if bounds:
        text += ", " + ", ".join(bounds)
    return text


def cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def fields(document, schema):
    schema = resolve(document, schema)
    rows = []
    required = set(schema.get("required", []))
    for name, field in (schema.get("properties") or {}).items():
        field = resolve(document, field)
        described = field.get("description") or resolve(document, field).get("description", "")
        rows.append(f"| `{name}` | {cell(type_of(document, field))} | {'yes' if name in required else ''} | {cell(described)} |")
    return rows


def operation_section(document, path, method, operation, path_parameters):
    out = [f"### `{method.upper()} {path}`", "", f"**{operation.get('summary', '')}.**" if operation.get("summary") else ""]
    if operation.get("description"):
        out += ["", " ".join(operation["description"].split())]
    security = operation.get("security", document.get("security"))
    if security == []:
        out += ["", "No token."]
    elif {} in (security or []):
        out += ["", "Token optional (a public endpoint runs without one)."]
    parameters = [resolve(document, p) for p in path_parameters + operation.get("parameters", [])]
    if parameters:
        out += ["", "| parameter | in | type | required | |", "|---|---|---|---|---|"]
        for p in parameters:
            out.append(f"| `{p['name']}` | {p['in']} | {cell(type_of(document, p.get('schema')))} | "
                       f"{'yes' if p.get('required') else ''} | {cell(p.get('description', ''))} |")
    body = operation.get("requestBody")
    if body:
        body = resolve(document, body)
        schema = body["content"]["application/json"]["schema"]
        rows = fields(document, schema)
        described = resolve(document, schema).get("description", "")
        out += ["", "Body, JSON" + (":" if rows else "."), ""]
        if described:
            out += [cell(described), ""]
        if rows:
            out += ["| field | type | required | |", "|---|---|---|---|"] + rows
    out += ["", "| status | meaning |", "|---|---|"]
    for status, response in operation["responses"].items():
        response = resolve(document, response)
        out.append(f"| {status} | {cell(response.get('description', ''))} |")
    out += ["", "```sh", " ".join(operation["x-curl"].split()), "```", ""]
    return out


def render(document):
    info = document["info"]
    out = [
        f"# {info['title']} reference",
        "",
        "<!-- Generated from openapi.yaml by scripts/api-docs.py. Do not edit: edit openapi.yaml. -->",
        "",
        "The machine-readable contract is [`openapi.yaml`](../openapi.yaml), also served at "
        "`GET /api/openapi.json`. Every curl example below is run against a live server by `make test` "
        "(`Tests/OpenAPI/run_examples.py`). They use `$KEYFLARE_URL` (for example `http://127.0.0.1:4000`), "
        "`$KEYFLARE_TOKEN` (a management token), `$KEYFLARE_PUBLIC_TOKEN`, and the ids `$SOURCE_ID`, "
        "`$ENDPOINT_ID` and `$TOKEN_ID`.",
        "",
        info["description"].strip(),
        "",
        "## Contents",
        "",
    ]
    tags = [tag["name"] for tag in document.get("tags", [])]
    by_tag = {tag: [] for tag in tags}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                by_tag[item[method]["tags"][0]].append((path, method, item[method], item.get("parameters", [])))
    descriptions = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    for tag in tags:
        out.append(f"- **{tag}**: " + ", ".join(f"`{m.upper()} {p}`" for p, m, _, _ in by_tag[tag]))
    for tag in tags:
        out += ["", f"## {tag}", "", descriptions[tag], ""]
        for path, method, operation, shared in by_tag[tag]:
            out += operation_section(document, path, method, operation, shared)
    return "\n".join(line for line in out).rstrip() + "\n"


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as handle:
        text = render(yaml.safe_load(handle))
    if "--check" in sys.argv:
        with open(target, encoding="utf-8") as handle:
            if handle.read() != text:
                print(f"{target} is stale: run `python scripts/api-docs.py {source} {target}` (PyYAML needed)")
                return 1
        print(f"{target} matches {source}")
        return 0
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
