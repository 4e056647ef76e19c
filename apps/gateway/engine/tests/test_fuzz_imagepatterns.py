"""Fuzzing docker-v2 rules end to end: a generated image pattern (valid or
not) in a manifest, and generated registry API requests. The manifest either
parses or names the `pattern` field; a request either is declined or is sent
to the rule's registry (redirect or proxy) and never anywhere else, with no
header value a client could break."""

from __future__ import annotations

import os
import string
from urllib.parse import urlsplit

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from apps.gateway.engine.docker import DockerPatternRule
from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Proxy, Redirect, Respond
from apps.gateway.engine.rules import FieldError

# CI's budget; FUZZ_EXAMPLES=20000 searches longer on a workstation.
EXAMPLES = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None)

DOMAIN = "docker.example.com"
REGISTRIES = ["ghcr.io", "localhost:5000", "http://127.0.0.1:5000", "[::1]:8443"]
USER_AGENTS = ["docker/27.0 go/go1.22", "skopeo/1.13", "containerd/1.7.0", ""]

patterns = st.one_of(
    st.sampled_from(["*", "*/*", "a/*", "{a,b}/*", "a*/b*", "*/{a,ab}"]),
    st.text(alphabet="ab/*{},", max_size=12),
    st.text(max_size=8),
)
# Mostly names a pattern over "ab" can match; sometimes anything.
segments = st.text(alphabet="ab", min_size=1, max_size=3) | st.text(
    alphabet=string.ascii_lowercase + "-._*{},%\\" + "\u00e9", max_size=6
)
image_names = st.sampled_from(["a/b", "ab/a", "b/ab", "a/b/a"]) | st.lists(
    segments, min_size=1, max_size=3
).map("/".join)
references = st.one_of(
    st.sampled_from(["latest", "sha256:" + "a" * 64, "%0d%0aX-Injected: 1", "../../x"]),
    st.text(alphabet=string.printable + "\u00e9", max_size=20),
)
registry_paths = st.builds(
    lambda image, endpoint, reference: f"/v2/{image}/{endpoint}/{reference}",
    image_names,
    st.sampled_from(["manifests", "blobs", "tags", "referrers"]),
    references,
) | st.text(alphabet=string.printable, max_size=40).map(lambda text: "/v2/" + text)


def netloc_of(registry: str) -> str:
    return urlsplit(registry if "://" in registry else "https://" + registry).netloc


@EXAMPLES
@given(
    pattern=patterns,
    registry=st.sampled_from(REGISTRIES),
    path=registry_paths,
    query=st.none() | st.text(alphabet=string.printable, max_size=20),
    user_agent=st.sampled_from(USER_AGENTS),
    method=st.sampled_from(["GET", "HEAD", "POST", "DELETE"]),
)
@example(
    pattern="a/*",
    registry="ghcr.io",
    path="/v2/a/b/manifests/%0d%0aLocation:%20https://evil.test",
    query="x=\r\n",
    user_agent="docker/27.0",
    method="GET",
)
def test_a_pattern_rule_only_ever_sends_clients_to_its_registry(
    pattern, registry, path, query, user_agent, method
):
    manifest = {
        "type": "docker-v2",
        "domain": DOMAIN,
        "rule-id": "r",
        "pattern": pattern,
        "registry": registry,
    }
    try:
        rule = DockerPatternRule.from_manifest(manifest)
    except FieldError as error:
        refused = error.field
    else:
        refused = None
    event("refused" if refused else "parsed")
    if refused is not None:
        assert refused == "pattern"
        return

    request = Request(method, DOMAIN, path, query, (("user-agent", user_agent),))
    outcome = rule.match(request)
    event(type(outcome.response).__name__ if outcome else "declined")
    if outcome is None:
        return
    response = outcome.response
    if isinstance(response, Redirect):
        assert urlsplit(response.location).netloc == netloc_of(registry)
        values = [response.location]
    elif isinstance(response, Proxy):
        assert netloc_of(response.upstream) == netloc_of(registry)
        values = []
    else:
        assert isinstance(response, Respond)
        values = [value for _, value in response.headers]
    for value in values:
        assert value.isascii()
        assert not any(ord(char) < 0x20 or char == "\x7f" for char in value), value
