"""Lookup cost and memory of one process holding N compiled domains.

Run by bench/gateway.py: `python bench/lookup.py N` prints
`lookup_us=<microseconds per lookup + resolve> rss_mb=<resident MB>`. The
domains are compiled from the benchmark's manifest, as a gateway worker
compiles the entries it loads; requests cycle over every domain.
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


def main(domains: int) -> None:
    table = {}
    for index in range(domains):
        entry = {
            "organisation": 1,
            "rules": [
                {"ref": str(4 * index + n), "rule": rule}
                for n, rule in enumerate(domain_rules(index))
            ],
        }
        table[hostname(index)] = compile_entry(hostname(index), entry, 1)
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
    requests = (requests * (ROUNDS // len(requests) + 1))[:ROUNDS]
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for request in requests:
            table[request.host].resolve(request)
        best = min(best, time.perf_counter() - started)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"lookup_us={best / ROUNDS * 1e6:.3f} rss_mb={rss_mb:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
