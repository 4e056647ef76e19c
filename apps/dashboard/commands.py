"""The copy-paste commands a package's users run, from its rules: concrete
requests the rule answers (apps.gateway.engine.examples), never a raw
template or regex, on the authority users reach the TLS edge at."""

from __future__ import annotations

import shlex

from apps.gateway.engine.examples import example_request
from apps.gateway.engine.manifest import parse_rule
from apps.gateway.routing import public_authority
from apps.packages.models import Rule


def commands_for(rule: Rule) -> list[str]:
    """What a user types to download through `rule`; empty when no example
    request could be made up for it."""
    engine_rule = parse_rule(rule.manifest_form())
    example = example_request(engine_rule)
    if example is None:
        return []
    host = public_authority(rule.domain.hostname)  # the edge's port when not 443
    base = f"https://{host}"
    match rule.type:
        case "docker-v1" | "docker-v2":
            image = example.target.removeprefix("/v2/").removesuffix("/manifests/latest")
            return [f"docker pull {host}/{image}"]
        case "python-v1" | "python-index-v1":
            return [f"pip install --index-url {base}/simple/ {engine_rule.package_name}"]
        case "npm-v1":
            name = engine_rule.package_name.replace("/*", "/example")
            return [f"npm install --registry {base}/ {name}"]
        case "telemetry-v1":
            return [f"curl -X POST {shlex.quote(base + example.target)} -d '{{}}'"]
        case "pixel-v1":
            return [f'<img src="{base}{example.target}" alt="">']
    return [f"curl -LO {shlex.quote(base + example.target)}"]


def first_request(rules: list[Rule]) -> dict[str, str]:
    """The "try a request" form's start: a request the first rule that can
    make one up answers (its domain, method, path and User-Agent)."""
    for rule in rules:
        example = example_request(parse_rule(rule.manifest_form()))
        if example is not None:
            return {
                "domain": rule.domain.hostname,
                "method": example.method,
                "path": example.target,
                "user_agent": example.user_agent or "",
            }
    return {}
