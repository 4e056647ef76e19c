import json

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Organisation
from apps.packages.manifests import export_manifest


class Command(BaseCommand):
    help = "Print an organisation's rules as a Scarf Gateway manifest."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")

    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(slug=options["org"]).first()
        if organisation is None:
            raise CommandError(f"no organisation {options['org']!r}")
        self.stdout.write(json.dumps(export_manifest(organisation), indent=2))
