"""Runs every curl example of openapi.yaml (its `x-curl`) against a live Keyflare, and fails unless
each answers 2xx: the examples in docs/api.md are the ones checked here.

Run by scripts/api-fuzz.sh, which starts Keyflare and sets the variables the examples use:
KEYFLARE_URL, KEYFLARE_TOKEN (management), KEYFLARE_PUBLIC_TOKEN, SOURCE_ID (a source named
app-logs), ENDPOINT_ID (an endpoint over it), TOKEN_ID (a token to roll and revoke) and WEBHOOK_ID
(a webhook to read and delete).

Order: reads and creates in the document's order, then changes (PATCH), then deletions, so each
example finds what the ones before it left.
"""

import subprocess
import sys

import yaml

METHODS = ["get", "post", "patch", "delete", "options"]


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    examples = []
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            if "x-curl" not in operation:
                print(f"{method.upper()} {path}: no x-curl example")
                return 1
            rank = {"patch": 1, "delete": 2}.get(method, 0)
            examples.append((rank, len(examples), method.upper(), path, operation["x-curl"]))
    failed = 0
    for _, _, method, path, command in sorted(examples):
        run = subprocess.run(
            ["bash", "-c", command + " -o /dev/null -w '%{http_code}'"],
            capture_output=True, text=True, timeout=30, check=False,
        )
        status = run.stdout.strip()[-3:]
        ok = run.returncode == 0 and status.startswith("2")
        failed += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {status or '---'} {method} {path}")
    print(f"{len(examples) - failed} of {len(examples)} curl examples answered 2xx")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
