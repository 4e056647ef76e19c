import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Organisation
from apps.gateway.engine.manifest import ManifestError
from apps.packages.manifests import import_manifest


class Command(BaseCommand):
    help = (
        "Import a Scarf Gateway manifest into an organisation (operator command: the "
        "domains it creates count as verified). All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="manifest JSON file, or - for standard input")
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument(
            "--create-org", action="store_true", help="create the organisation if missing"
        )

    def handle(self, *args, **options):
        document = self._read(options["file"])
        slug = options["org"]
        organisation = Organisation.objects.filter(slug=slug).first()
        if organisation is None:
            if not options["create_org"]:
                raise CommandError(f"no organisation {slug!r} (use --create-org to create it)")
            organisation = Organisation.objects.create(name=slug, slug=slug)
        try:
            summary = import_manifest(organisation, document, verify_domains=True)
        except ManifestError as error:
            raise CommandError(
                "manifest rejected, nothing changed:\n"
                + "\n".join(f"  {problem}" for problem in error.problems)
            ) from None
        self.stdout.write(
            f"imported {summary.rules} rules for {summary.packages} packages on "
            f"{', '.join(summary.domains) or 'no domains'} into {organisation.slug}"
        )

    def _read(self, path: str):
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"{path} is not valid JSON: {error}") from None
