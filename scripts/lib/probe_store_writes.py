"""What each kind of write the worker sends costs the store, measured side by side.

Usage: probe_store_writes.py MONGO_URL [ROUNDS]   (scripts/probe-store-writes starts SecantusDB)

Each round builds a fresh collection of N rollup-shaped documents with the two indexes
`rollups_daily` carries, then times one command of N statements of each kind:
- insert: N new documents, whole (how the worker creates a rollup document);
- update, watermark condition: `$inc` + `$set` conditional on two `wm.<partition>` fields (how
  the worker updates one, exact under replay);
- update, `_id` only: the same update without the condition (not exact; the store's floor);
- update, `$in` groups of 100: the conditional update, one multi-update per 100 documents with
  the same delta;
and the two reads of a batch: `_id $in` chunks of 100 ids that are not stored (the replay check
of new events) and that are stored (watermarks of existing documents).
"""

import sys
import time

import pymongo

N = 2000
DAY = "2026-12-01"


def document(i):
    return {"_id": f"s|path|{DAY}|/p{i}", "site": "s", "dim": "path", "day": DAY,
            "value": f"/p{i}", "views": 1, "visitors": 1, "visits": 1,
            "wm": {"0": 10, "1": 20}, "tier": 1}


def fresh(db, documents=True):
    db.drop_collection("r")
    col = db["r"]
    col.create_index([("site", 1), ("dim", 1), ("day", 1)])
    col.create_index([("site", 1), ("dim", 1), ("tier", 1), ("day", 1)])
    if documents:
        col.insert_many([document(i) for i in range(N)])
    return col


def timed(db, command, expect):
    started = time.perf_counter()
    reply = db.command(command)
    elapsed = (time.perf_counter() - started) * 1000
    assert reply["n"] == expect, reply
    return elapsed


UPDATE = {"$inc": {"views": 1, "visitors": 1}, "$set": {"wm.0": 11, "wm.1": 21, "tier": 1}}
CONDITION = {"wm.0": 10, "wm.1": 20}


def updates(condition, group):
    ids = [document(i)["_id"] for i in range(N)]
    if group == 1:
        return [{"q": {"_id": i, **condition}, "u": UPDATE} for i in ids]
    return [{"q": {"_id": {"$in": ids[k:k + group]}, **condition}, "u": UPDATE, "multi": True}
            for k in range(0, N, group)]


def reads(col, ids):
    started = time.perf_counter()
    for k in range(0, len(ids), 100):
        list(col.find({"_id": {"$in": ids[k:k + 100]}}, {"wm": 1}))
    return (time.perf_counter() - started) * 1000


def round_(db):
    row = {}
    fresh(db, documents=False)
    row["insert"] = timed(db, {"insert": "r", "documents": [document(i) for i in range(N)],
                               "ordered": False}, N)
    for name, condition, group in (("update, watermark condition", CONDITION, 1),
                                   ("update, _id only", {}, 1),
                                   ("update, $in groups of 100", CONDITION, 100)):
        fresh(db)
        row[name] = timed(db, {"update": "r", "updates": updates(condition, group),
                               "ordered": False}, N)
    col = fresh(db)
    row["find, ids not stored"] = reads(col, [f"missing-{i}" for i in range(N)])
    row["find, ids stored"] = reads(col, [document(i)["_id"] for i in range(N)])
    return row


def main():
    db = pymongo.MongoClient(sys.argv[1])["probe_store_writes"]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rows = [round_(db) for _ in range(rounds)]
    print(f"| {N} documents, one command each | " + " | ".join(
        f"round {r + 1}" for r in range(rounds)) + " | per document (median) |")
    print("| --- |" + " ---: |" * (rounds + 1))
    for name in rows[0]:
        times = sorted(row[name] for row in rows)
        cells = " | ".join(f"{row[name]:.0f} ms" for row in rows)
        print(f"| {name} | {cells} | {times[len(times) // 2] * 1000 / N:.0f} µs |")
    db.client.drop_database("probe_store_writes")


if __name__ == "__main__":
    main()
