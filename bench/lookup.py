"""Lookup cost and memory of one process holding N compiled domains.

Run by bench/gateway.py: `python bench/lookup.py N` prints
`lookup_us=... resolve_us=... table_mb=...`: the per-request cost of the
hot path for a repeated download (host -> routes, then the remembered
decision), the cost of matching the rules from scratch (a first request),
and the memory the compiled table takes. The domains are compiled from the
benchmark's manifest, as a gateway worker compiles the entries it loads;
requests cycle over every domain.
"""

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from apps.gateway.engine.http import Request  # noqa: E402
from apps.gateway.routing import compile_entry  # noqa: E402
from bench.table import bench_requests, domain_rules, hostname  # noqa: E402

ROUNDS = 200_000


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def best_of(rounds: int, run) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main(domains: int) -> None:
    before = rss_mb()
    table = {}
    for index in range(domains):
        rules = domain_rules(index)
        entry = {
            "organisation": 1,
            "rules": [{"ref": str(n), "rule": r} for n, r in enumerate(rules)],
        }
        table[hostname(index)] = compile_entry(hostname(index), entry, 1)
    table_mb = rss_mb() - before
    requests = [
        Request(
            method="GET",
            host=r.host,
            raw_path=r.path,
            raw_query=None,
            headers=(("user-agent", r.user_agent),),
        )
        for r in bench_requests(domains)
    ]
    sample = (requests * (ROUNDS // len(requests) + 1))[:ROUNDS]

    def resolve():
        for request in sample:
            table[request.host].resolve(request)

    def lookup():
        for request in sample:
            table[request.host].decide(request)

    resolve_s = best_of(3, resolve)
    lookup()  # remember every decision once
    lookup_s = best_of(5, lookup)
    print(
        f"lookup_us={lookup_s / ROUNDS * 1e6:.3f} resolve_us={resolve_s / ROUNDS * 1e6:.3f} "
        f"table_mb={table_mb:.1f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
