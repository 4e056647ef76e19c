"""Lookup cost and memory with a small and a large routing table.

Run by bench/gateway.py: `python bench/lookup.py SMALL LARGE` compiles both
tables in one process and prints, for each, `domains=N lookup_us=...
resolve_us=... sweep_lookup_us=... sweep_resolve_us=... table_mb=...`.

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

LOOKUP_ROUNDS = 100_000  # requests per timed round
RESOLVE_ROUNDS = 10_000
ROUNDS = 15  # of each, taken in turn; the best counts


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def compile_table(domains: int) -> dict:
    table = {}
    for index in range(domains):
        rules = domain_rules(index)
        entry = {
            "organisation": 1,
            "rules": [{"ref": str(n), "rule": r} for n, r in enumerate(rules)],
        }
        table[hostname(index)] = compile_entry(hostname(index), entry, 1)
    return table


def bench_request_objects(domains: int) -> list[Request]:
    return [
        Request(
            method="GET",
            host=r.host,
            raw_path=r.path,
            raw_query=None,
            headers=(("user-agent", r.user_agent),),
        )
        for r in bench_requests(domains)
    ]


def main(small: int, large: int) -> None:
    """Both tables in one process, their timed rounds taken in turn, so that
    the machine's slow spells fall on both alike."""
    tables, requests, table_mb = {}, {}, {}
    for domains in (small, large):
        before = rss_mb()
        tables[domains] = compile_table(domains)
        table_mb[domains] = rss_mb() - before
        requests[domains] = bench_request_objects(domains)
    hot_hosts = {hostname(index) for index in range(HOT_DOMAINS)}
    hot = [request for request in requests[small] if request.host in hot_hosts]
    runs = {}
    for domains in (small, large):
        table = tables[domains]
        for prefix, sample in (("", hot), ("sweep_", requests[domains])):
            lookup(table, sample)  # remember every decision once
            runs[domains, prefix + "lookup_us"] = timed(lookup, table, sample, LOOKUP_ROUNDS)
            runs[domains, prefix + "resolve_us"] = timed(resolve, table, sample, RESOLVE_ROUNDS)
    best: dict = dict.fromkeys(runs, float("inf"))
    for _ in range(ROUNDS):
        for key, run in runs.items():
            best[key] = min(best[key], run())
    for domains in (small, large):
        figures = {name: value for (size, name), value in best.items() if size == domains}
        print(
            f"domains={domains}",
            " ".join(f"{name}={value:.3f}" for name, value in figures.items()),
            f"table_mb={table_mb[domains]:.1f}",
        )


def lookup(table: dict, sample: list) -> None:
    for request in sample:
        table[request.host].decide(request)


def resolve(table: dict, sample: list) -> None:
    for request in sample:
        table[request.host].resolve(request)


def timed(run, table: dict, requests: list, size: int):
    """A callable timing one round of `size` requests: microseconds per request."""
    sample = (requests * (size // len(requests) + 1))[:size]

    def round_():
        started = time.perf_counter()
        run(table, sample)
        return (time.perf_counter() - started) / size * 1e6

    return round_


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
