"""Figures of a scripts/fuzz-api run, from Schemathesis' NDJSON event streams: one Markdown table
row per operation (service, operation, cases sent, of which valid and invalid, failed scenarios).

Usage: python3 fuzz_figures.py SERVICE=NDJSON_FILE...
"""

import collections
import json
import sys


def rows(service, path):
    cases = collections.defaultdict(collections.Counter)
    for line in open(path, encoding="utf-8"):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        label = finished["recorder"]["label"]
        counts = cases[label]
        if finished["status"] in ("failure", "error"):
            counts["failed"] += 1
        # A scenario that sent nothing (an operation skipped in a phase) has no cases.
        for case in finished["recorder"].get("cases", {}).values():
            mode = case["value"]["meta"]["generation"]["mode"]
            counts["cases"] += 1
            counts[mode] += 1
    for label in sorted(cases):
        c = cases[label]
        yield f"| {service} | `{label}` | {c['cases']} | {c['positive']} | {c['negative']} | {c['failed']} |"


def main():
    print("| service | operation | cases | valid | invalid | failed |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for argument in sys.argv[1:]:
        service, path = argument.split("=", 1)
        for row in rows(service, path):
            print(row)


if __name__ == "__main__":
    main()
