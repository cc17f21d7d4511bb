"""One replica of the shared-budget tests, as its own OS process: threads admit requests against
leased slices (gateway.budget_leases_client), settle them and write their rows to Postgres in
batches as the ledger writer does; prints a JSON summary at the end.

python -m tests.gateway.lease_replica CONFIG_JSON
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from typing import Any

import psycopg

from gateway.budget_leases_client import LeaseHolder, PoolWindow
from gateway.budget_leases_pg import LeaseStore

INSERT = "INSERT INTO usage (request_id, ts_ms, cost_pico, key_name) VALUES "


def main(config: dict[str, Any]) -> None:
    dsn, replica = config["dsn"], config["replica"]
    trips = [0]

    def counted() -> None:
        trips[0] += 1

    store = LeaseStore(lambda: psycopg.connect(dsn, autocommit=True, connect_timeout=2), replica,
                       config["ttl_s"], config["grace_s"], counted)
    holder = LeaseHolder(store, config["ttl_s"], config["margin_s"])
    holder.start(config["renew_s"])
    windows = [PoolWindow(*w) for w in config["windows"]]
    worst, actual = config["worst"], config["actual"]
    rows: list[tuple[str, int, int, str]] = []
    lock = threading.Lock()
    counts = {"admitted": 0, "refused": 0, "lease_errors": 0, "rows": 0}
    seq = iter(range(1, 10**9))
    stop = time.monotonic() + config["seconds"]

    def client() -> None:
        refused_in_a_row = 0
        while time.monotonic() < stop and refused_in_a_row < config["give_up_after"]:
            admitted = holder.reserve(windows, worst)
            if not admitted:
                try:
                    admitted = holder.lease_for(windows, worst)
                except psycopg.Error:
                    with lock:
                        counts["lease_errors"] += 1
            if not admitted:
                refused_in_a_row += 1
                with lock:
                    counts["refused"] += 1
                time.sleep(0.01)
                continue
            refused_in_a_row = 0
            time.sleep(config["work_s"])
            holder.settle(windows, worst, actual)
            with lock:
                counts["admitted"] += 1
                rows.append((f"gw-{replica}-{next(seq)}", config["ts_ms"], actual, config["key"]))

    def writer() -> None:
        conn = None
        while True:
            done = not any(t.is_alive() for t in clients)
            with lock:
                batch = rows[:500]
            if batch:
                try:
                    if conn is None:
                        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=2)
                    values = ",".join(["(%s, %s, %s, %s)"] * len(batch))
                    statement = f"{INSERT}{values} ON CONFLICT DO NOTHING"
                    conn.execute(statement, [v for row in batch for v in row])
                    trips[0] += 1
                    with lock:
                        del rows[:len(batch)]
                        counts["rows"] += len(batch)
                except psycopg.Error:
                    conn = None
                    time.sleep(0.05)
                continue
            if done:
                return
            time.sleep(0.05)

    clients = [threading.Thread(target=client) for _ in range(config["threads"])]
    for t in clients:
        t.start()
    print(json.dumps({"started": True}), flush=True)
    write = threading.Thread(target=writer)
    write.start()
    for t in clients:
        t.join()
    write.join(timeout=config["flush_timeout_s"])
    holder.stop()
    with contextlib.suppress(psycopg.Error):
        holder.give_back()
    print(json.dumps({**counts, "round_trips": trips[0], "unwritten": len(rows)}), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
