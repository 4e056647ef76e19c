"""Docker / OCI registry rules: docker-v1 (one image) and docker-v2 (an image pattern).

A docker rule claims registry API requests for its images (GATEWAY-REFERENCE
§7.1) and either redirects the client to the backend registry or has the edge
proxy the request (§7.3). Redirects keep the query string and a registry may be
`host`, `host:port` or `http://host:port` (GATEWAY-DECISIONS §2, §3). Adjacent
docker-v1 rules with the same registry merge into one `DockerImageGroup` (§3.4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import quote

from .http import Request
from .imagepattern import ImagePattern, PatternError, parse_image_pattern
from .outcome import Capture, Outcome, Proxy, Redirect, Respond, Response
from .paths import decode_segments
from .rules import (
    ORDER_DOCKER_V1,
    ORDER_DOCKER_V2,
    FieldError,
    Rule,
    check_port,
    optional_bool,
    required_str,
)

DOCKER_HUB_ALIAS = "registry.hub.docker.com"
DOCKER_HUB_REGISTRY = "registry-1.docker.io"

_REGISTRY = re.compile(
    r"(?:http://)?(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?", re.ASCII
)
# A repository path as Docker clients send it (distribution's reference grammar).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*", re.ASCII)

_PATH_KEYWORDS = frozenset({"manifests", "blobs", "tags"})

# User-Agents of clients known to follow a redirect to the backend registry.
_REDIRECT_AGENT_PREFIX = "docker/"
_REDIRECT_AGENT_PARTS = ("Docker-Client", "containerd/1.4.9", "containerd/1.5.5", "containerd/1.6")
_REDIRECT_AGENT_EXACT = "Watchtower (Docker)"

# What may stay as it is in a Location's path and query: RFC 3986 reserved and
# unreserved characters and `%`. Anything else (CR, LF, spaces, non-ASCII) is
# percent-encoded, so a request can never break the header it is echoed into.
_LOCATION_SAFE = "!$&'()*+,;=:@/?%[]"


def read_registry(data: Mapping[str, Any]) -> str:
    """The manifest's `registry`, validated, with Docker Hub's alias rewritten."""
    registry = required_str(data, "registry")
    if registry == DOCKER_HUB_ALIAS:
        return DOCKER_HUB_REGISTRY
    found = _REGISTRY.fullmatch(registry)
    if not found:
        raise FieldError("registry", "must be host, host:port or http://host:port")
    check_port(found["port"], "registry")
    return registry


def registry_base_url(registry: str) -> str:
    """`http://host:port` is used as given; a bare host (and port) is reached over TLS."""
    return registry if registry.startswith("http://") else f"https://{registry}"


def redirects_are_followed(user_agent: str | None) -> bool:
    """True for the clients the reference trusts to follow a 307 to the registry."""
    if user_agent is None:
        return False
    return (
        user_agent.startswith(_REDIRECT_AGENT_PREFIX)
        or any(part in user_agent for part in _REDIRECT_AGENT_PARTS)
        or user_agent == _REDIRECT_AGENT_EXACT
    )


def registry_url(registry: str, request: Request) -> str:
    """The request's URL at the registry, for the redirect and for the proxy:
    the registry's base URL + the raw path and query, made safe for a header.

    The path always starts with `/`, so the authority is the registry's and
    nothing in the request can change the host.
    """
    target = request.raw_target
    if not target.startswith("/"):
        target = "/" + target
    return registry_base_url(registry) + quote(target, safe=_LOCATION_SAFE)


@dataclass(frozen=True)
class DockerPath:
    """A claimed registry API path: `/v2/<image...>/<keyword>/<reference>/...`."""

    image: tuple[str, ...]
    keyword: str
    reference: str


NO_IMAGE = DockerPath(image=(), keyword="", reference="")


def parse_docker_path(segments: Sequence[str]) -> DockerPath | None:
    """Split at the first `manifests`, `blobs` or `tags`; None when not a registry path.

    An image with a segment named like a keyword is split wrongly, as in the
    reference (`/v2/org/tags/manifests/x` is image `org`, reference `manifests`).
    """
    if not segments or segments[0] != "v2":
        return None
    for index in range(1, len(segments) - 1):
        if segments[index] in _PATH_KEYWORDS:
            return DockerPath(tuple(segments[1:index]), segments[index], segments[index + 1])
    return None


@dataclass(frozen=True)
class ImageTarget:
    """Who an image belongs to: a package (docker-v1) or an auto-create rule (docker-v2)."""

    package: str | None
    auto_create: str | None
    ref: str


@dataclass(frozen=True)
class DockerRule(Rule):
    """What docker-v1, docker-v2 and merged docker-v1 rules share: claims and decisions.

    `registry` is as configured after the Docker Hub rewrite; subclasses say
    which images they claim by implementing `target`.
    """

    registry: str
    always_proxy: bool = field(default=False, kw_only=True)

    def target(self, image: tuple[str, ...]) -> ImageTarget | None:
        raise NotImplementedError

    def match(self, request: Request) -> Outcome | None:
        if request.raw_path == "/v2/_catalog":
            return self.answer(request, Respond(404), NO_IMAGE, self.anonymous)
        if request.raw_path == "/v2/":
            return self.answer(request, self.decide(request), NO_IMAGE, self.anonymous)
        path = parse_docker_path(decode_segments(request.raw_path))
        if path is None:
            return None
        target = self.target(path.image)
        if target is None:
            return None
        return self.answer(request, self.decide(request), path, target)

    @property
    def anonymous(self) -> ImageTarget:
        """The target of the ping and the catalog: no image, so no package."""
        return ImageTarget(package=None, auto_create=None, ref=self.ref)

    def decide(self, request: Request) -> Redirect | Proxy:
        """Redirect or proxy (GATEWAY-REFERENCE §7.3); the first condition that applies wins."""
        if self.always_proxy:
            return Proxy(self.registry)
        if (request.header("authorization") or "").startswith("Basic"):
            return Proxy(self.registry)
        if redirects_are_followed(request.header("user-agent")):
            return Redirect(registry_url(self.registry, request))
        return Proxy(self.registry)

    def answer(
        self, request: Request, response: Response, path: DockerPath, target: ImageTarget
    ) -> Outcome:
        capture = Capture(
            kind="docker",
            package=target.package,
            fields={
                "image": list(path.image),
                "reference": path.reference,
                "backend_registry": self.registry,
                "auto_create": target.auto_create,
                "pull": request.method == "GET" and path.keyword == "manifests",
            },
        )
        return Outcome(response, (capture,), rule_type=self.type, rule_ref=target.ref)


class ImageTableRule(DockerRule):
    """A docker-v1 rule, single or merged: subclasses provide an `images` table
    mapping each image (a tuple of segments) to its ImageTarget."""

    def target(self, image: tuple[str, ...]) -> ImageTarget | None:
        return self.images.get(image)

    def merge_with(self, other: Rule) -> Rule | None:
        """Merge the next docker-v1 rule when it uses the same registry (§3.4).

        The later rule's package wins for an image both name; the first rule's
        `always-proxy` is kept for the whole run, as in the reference.
        """
        if not isinstance(other, ImageTableRule):
            return None
        if (other.domain, other.registry) != (self.domain, self.registry):
            return None
        return DockerImageGroup(
            self.domain,
            self.registry,
            {**self.images, **other.images},
            always_proxy=self.always_proxy,
            ref=self.ref,
        )


@dataclass(frozen=True)
class DockerImageRule(ImageTableRule):
    """docker-v1: one image (`repository-name`, split on `/`, matched exactly)."""

    type: ClassVar[str] = "docker-v1"
    order: ClassVar[int] = ORDER_DOCKER_V1

    package_id: str
    repository_name: str

    @cached_property
    def images(self) -> Mapping[tuple[str, ...], ImageTarget]:
        image = tuple(self.repository_name.split("/"))
        return {image: ImageTarget(package=self.package_id, auto_create=None, ref=self.ref)}

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> DockerImageRule:
        return cls(
            domain=required_str(data, "domain"),
            package_id=required_str(data, "package-id"),
            repository_name=required_str(data, "repository-name"),
            registry=read_registry(data),
            always_proxy=optional_bool(data, "always-proxy"),
        )

    def check_answerable(self) -> None:
        if not _REPOSITORY.fullmatch(self.repository_name):
            raise FieldError(
                "repository-name",
                f"repository-name {self.repository_name!r} is one no Docker client asks for: "
                "lower-case letters and digits, with . _ - between them, in parts joined by /",
            )

    def manifest_fields(self) -> dict[str, Any]:
        return {
            "package-id": self.package_id,
            "repository-name": self.repository_name,
            "registry": self.registry,
            "always-proxy": self.always_proxy or None,
        }


@dataclass(frozen=True)
class DockerImageGroup(ImageTableRule):
    """A run of adjacent docker-v1 rules with one registry, merged at compile time.

    `images` maps each image to the package and stored rule it came from; `ref`
    is the first rule's, which answers the ping and the catalog. Never exported.
    """

    type: ClassVar[str] = "docker-v1"
    order: ClassVar[int] = ORDER_DOCKER_V1

    images: Mapping[tuple[str, ...], ImageTarget]


@dataclass(frozen=True)
class DockerPatternRule(DockerRule):
    """docker-v2: every image matching `pattern`, recorded for auto-creation under `rule-id`."""

    type: ClassVar[str] = "docker-v2"
    order: ClassVar[int] = ORDER_DOCKER_V2
    key_field: ClassVar[str] = "rule-id"

    rule_id: str
    pattern: ImagePattern

    def target(self, image: tuple[str, ...]) -> ImageTarget | None:
        if not self.pattern.matches(image):
            return None
        return ImageTarget(package=None, auto_create=self.rule_id, ref=self.ref)

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> DockerPatternRule:
        text = required_str(data, "pattern")
        try:
            pattern = parse_image_pattern(text)
        except PatternError as error:
            raise FieldError("pattern", str(error)) from None
        return cls(
            domain=required_str(data, "domain"),
            rule_id=required_str(data, "rule-id"),
            pattern=pattern,
            registry=read_registry(data),
            always_proxy=optional_bool(data, "always-proxy"),
        )

    def manifest_fields(self) -> dict[str, Any]:
        return {
            "rule-id": self.rule_id,
            "pattern": self.pattern.text,
            "registry": self.registry,
            "always-proxy": self.always_proxy or None,
        }
