"""Lookup cost and memory of one process holding N compiled domains.

Run by bench/gateway.py: `python bench/lookup.py N` prints
`lookup_us=... resolve_us=... sweep_lookup_us=... sweep_resolve_us=... table_mb=...`.

- lookup_us: the hot path for a repeated download (host -> routes, then the
  remembered decision); resolve_us: matching the rules from scratch (a
  first request). Both for the same traffic whatever N is: the requests of
  the first HOT_DOMAINS domains, so the figures show what the size of the
  table costs a lookup, and nothing else.
- sweep_*: the same, for requests cycling over every one of the N domains:
  with many domains the working set outgrows the CPU caches, so this shows
  memory latency as much as the table.
- table_mb: the memory the compiled table takes.

The domains are compiled from the benchmark's manifest, as a gateway worker
compiles the entries it loads.
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
from bench.table import HOT_DOMAINS, bench_requests, domain_rules, hostname  # noqa: E402

LOOKUP_ROUNDS = 200_000  # requests per timed round
RESOLVE_ROUNDS = 50_000


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
    hot_hosts = {hostname(index) for index in range(min(HOT_DOMAINS, domains))}
    hot = [request for request in requests if request.host in hot_hosts]
    figures = {**costs(table, hot), **costs(table, requests, prefix="sweep_")}
    print(
        " ".join(f"{key}={value:.3f}" for key, value in figures.items()), f"table_mb={table_mb:.1f}"
    )


def costs(table: dict, requests: list, prefix: str = "") -> dict[str, float]:
    """Microseconds per request: remembered decision, and matching afresh
    (the best of many rounds: this machine's noise only ever adds time)."""

    def resolve(sample):
        for request in sample:
            table[request.host].resolve(request)

    def lookup(sample):
        for request in sample:
            table[request.host].decide(request)

    lookup(requests)  # remember every decision once
    return {
        prefix + "lookup_us": per_request(lookup, requests, LOOKUP_ROUNDS, 20),
        prefix + "resolve_us": per_request(resolve, requests, RESOLVE_ROUNDS, 5),
    }


def per_request(run, requests: list, size: int, rounds: int) -> float:
    sample = (requests * (size // len(requests) + 1))[:size]
    return best_of(rounds, lambda: run(sample)) / size * 1e6


if __name__ == "__main__":
    main(int(sys.argv[1]))
