"""Collects suite figures into bench/results/latest.json and prints the table:
figure, value, reference, ratio, target, pass/fail."""

import json
import re
import sys


def parse_verify(text):
    """Reads p50/p99 time and mallocs per op for each benchmark from ordo-one/benchmark's table."""
    results, current, metric_rows = {}, None, {}
    for line in text.splitlines():
        name = line.strip()
        if name in ("sha256-reference", "verify-cached"):
            current = name
            results[current] = {}
            continue
        if current and line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            if cells[0].startswith("Time (wall clock)"):
                results[current]["p50"] = float(cells[3])
                results[current]["p99"] = float(cells[6])
            elif cells[0].startswith("Malloc (total)"):
                results[current]["mallocs"] = float(cells[3])
    ref, hot = results["sha256-reference"], results["verify-cached"]
    ratio = hot["p50"] / ref["p50"]
    return {
        "verify p50 ns": {"value": hot["p50"], "reference": ref["p50"], "target": "<= 5x and < 1000 ns",
                          "pass": ratio <= 5 and hot["p50"] < 1000},
        "verify p99 ns": {"value": hot["p99"], "reference": ref["p99"], "target": "-", "pass": None},
        "verify mallocs/op": {"value": hot["mallocs"], "reference": ref["mallocs"], "target": "no more than the reference",
                              "pass": hot["mallocs"] <= ref["mallocs"]},
    }


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def main():
    out_path, *inputs = sys.argv[1:]
    figures = {}
    for path in inputs:
        with open(path) as handle:
            text = handle.read()
        if path.endswith(".txt"):
            figures.update(parse_verify(text))
        else:
            figures.update(json.loads(text.strip().splitlines()[-1]))
    rows = [("figure", "value", "reference", "ratio", "target", "result")]
    for name, f in figures.items():
        ratio = f["value"] / f["reference"] if f["reference"] not in (None, 0) and f["value"] is not None else None
        result = {True: "pass", False: "FAIL", None: "-"}[f["pass"]]
        rows.append((name, fmt(f["value"]), fmt(f["reference"]), fmt(ratio), f["target"], result))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
    with open(out_path, "w") as handle:
        json.dump(figures, handle, indent=2, sort_keys=True)
    failed = [name for name, f in figures.items() if f["pass"] is False]
    print(f"\n{len(figures)} figures, {len(failed)} missed their target" + (f": {', '.join(failed)}" if failed else ""))


if __name__ == "__main__":
    main()
