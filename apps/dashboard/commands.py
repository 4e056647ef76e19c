"""The copy-paste commands a package's users run, from its rules."""

from __future__ import annotations

from apps.gateway.engine.pixel import DEFAULT_PATH as PIXEL_PATH
from apps.packages.models import Rule


def commands_for(rule: Rule) -> list[str]:
    """What a user types to download through `rule` (its manifest form)."""
    form, host = rule.manifest_form(), rule.domain.hostname
    base = f"https://{host}"
    match form["type"]:
        case "docker-v1":
            return [f"docker pull {host}/{form['repository-name']}"]
        case "docker-v2":
            return [f"docker pull {host}/{form['pattern'].replace('*', 'NAME')}"]
        case "python-v1" | "python-index-v1":
            return [f"pip install --index-url {base}/simple/ {form['package-name']}"]
        case "npm-v1":
            return [f"npm install --registry {base}/ {form['package-name']}"]
        case "file-v1" | "file-v2":
            return [f"curl -LO {base}{form['incoming-path']}"]
        case "telemetry-v1":
            return [f"curl -X POST {base}{form['incoming-path']} -d '{{}}'"]
        case "pixel-v1":
            return [f'<img src="{base}{form.get("incoming-path", PIXEL_PATH)}" alt="">']
    return [f"curl -L {base}/"]
