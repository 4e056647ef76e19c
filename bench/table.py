"""The benchmark's routing table: N domains, four rule types, and the requests
that exercise them, with the answer each request must get.

Every domain `d<i>.bench.test` has a file-v1 template with repeated
variables, a file-v2 regular expression, a python-v1 file and a docker-v1
image. The expected status and Location of each request are written out here
by hand, independently of the gateway's engine, so the same checks hold the
gateway, nginx and the Django view to the same answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DOCKER_AGENT = "docker/27.0.3 go/go1.21.11 git-commit/662f78c kernel/6.5.0 os/linux arch/amd64"
FILE_AGENTS = ("curl/8.5.0", "Wget/1.21.3", 'pip/24.0 {"installer":{"name":"pip"}}')
VERSIONS = ("1.0.0", "1.2.3", "2.0.1")
PLATFORMS = ("linux-amd64", "linux-arm64", "darwin-arm64")
HOT_DOMAINS = 10  # bench/lookup.py: the domains whose requests make the same traffic at any scale


def hostname(index: int) -> str:
    return f"d{index}.bench.test"


def domain_rules(index: int) -> list[dict]:
    """The manifest rules of domain `index`."""
    host = hostname(index)
    return [
        {
            "type": "file-v1",
            "domain": host,
            "incoming-path": "/downloads/{version}/tool-{version}-{platform}.tar.gz",
            "outgoing-url": (
                f"https://releases.o{index}.example/tool/v{{version}}/"
                "tool-{version}-{platform}.tar.gz"
            ),
            "package-id": f"tool-{index}",
        },
        {
            "type": "file-v2",
            "domain": host,
            "incoming-path": "/install/(?<channel>stable|beta)\\.sh",
            "outgoing-url": f"https://cdn.o{index}.example/{{channel}}/install.sh",
            "package-id": f"installer-{index}",
        },
        {
            "type": "python-v1",
            "domain": host,
            "package-name": f"pkg{index}",
            "file-name": f"pkg{index}-1.0.0.tar.gz",
            "version": "1.0.0",
            "backend-url": f"https://files.o{index}.example/pkg{index}-1.0.0.tar.gz",
            "package-id": f"pkg-{index}",
        },
        {
            "type": "docker-v1",
            "domain": host,
            "repository-name": f"o{index}/app",
            "registry": f"registry.o{index}.example",
            "package-id": f"app-{index}",
        },
    ]


def manifest(domains: int) -> dict:
    return {"rules": [rule for index in range(domains) for rule in domain_rules(index)]}


@dataclass(frozen=True)
class BenchRequest:
    host: str
    path: str
    user_agent: str
    status: int
    location: str


def domain_requests(index: int, rng: random.Random) -> list[BenchRequest]:
    host = hostname(index)
    version, platform = rng.choice(VERSIONS), rng.choice(PLATFORMS)
    channel = rng.choice(("stable", "beta"))
    tag = rng.choice(VERSIONS)
    agent = rng.choice(FILE_AGENTS)
    return [
        BenchRequest(
            host,
            f"/downloads/{version}/tool-{version}-{platform}.tar.gz",
            agent,
            307,
            f"https://releases.o{index}.example/tool/v{version}/tool-{version}-{platform}.tar.gz",
        ),
        BenchRequest(
            host,
            f"/install/{channel}.sh",
            agent,
            307,
            f"https://cdn.o{index}.example/{channel}/install.sh",
        ),
        BenchRequest(
            host,
            f"/simple/pkg{index}/pkg{index}-1.0.0.tar.gz",
            agent,
            307,
            f"https://files.o{index}.example/pkg{index}-1.0.0.tar.gz",
        ),
        BenchRequest(
            host,
            f"/v2/o{index}/app/manifests/{tag}",
            DOCKER_AGENT,
            307,
            f"https://registry.o{index}.example/v2/o{index}/app/manifests/{tag}",
        ),
    ]


def bench_requests(domains: int, seed: int = 7) -> list[BenchRequest]:
    """The request mix, shuffled so consecutive requests hit different domains."""
    rng = random.Random(seed)
    requests = [r for index in range(domains) for r in domain_requests(index, rng)]
    rng.shuffle(requests)
    return requests


def nginx_server_block(index: int, port: int) -> str:
    """The same four redirects as an nginx server block."""
    return f"""
    server {{
        listen 127.0.0.1:{port};
        server_name {hostname(index)};
        location ~ ^/downloads/([^/]+)/tool-([^/]+)-([^/]+)\\.tar\\.gz$ {{
            return 307 https://releases.o{index}.example/tool/v$1/tool-$2-$3.tar.gz;
        }}
        location ~ ^/install/(stable|beta)\\.sh$ {{
            return 307 https://cdn.o{index}.example/$1/install.sh;
        }}
        location = /simple/pkg{index}/pkg{index}-1.0.0.tar.gz {{
            return 307 https://files.o{index}.example/pkg{index}-1.0.0.tar.gz;
        }}
        location ~ ^/v2/o{index}/app/manifests/(.+)$ {{
            return 307 https://registry.o{index}.example/v2/o{index}/app/manifests/$1;
        }}
        location / {{ return 404; }}
    }}"""
