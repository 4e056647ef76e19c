import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, transaction

from apps.accounts.models import Membership, Organisation, User
from apps.gateway.engine.manifest import ManifestError
from apps.packages import services


class Command(BaseCommand):
    help = (
        "Import a Scarf Gateway manifest into an organisation (operator command: the "
        "domains it creates count as verified). All or nothing; rules already there keep "
        "their ids, and an unchanged manifest changes nothing. A new organisation "
        "(--create-org) needs --owner, the e-mail address of a signed-up user who will "
        "own it: nobody else could see it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="manifest JSON file, or - for standard input")
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument(
            "--create-org",
            action="store_true",
            help="create the organisation if missing (needs --owner)",
        )
        parser.add_argument(
            "--owner",
            metavar="EMAIL",
            help="the user who owns the organisation --create-org creates (signed up already)",
        )

    def handle(self, *args, **options):
        document = self._read(options["file"])
        try:
            with transaction.atomic():
                organisation = self._organisation(options)
                summary, revision = services.import_manifest(
                    organisation, services.SYSTEM, document, verify_domains=True
                )
        except ManifestError as error:
            raise CommandError(
                "manifest rejected, nothing changed:\n"
                + "\n".join(f"  {problem}" for problem in error.problems)
            ) from None
        except OperationalError as error:
            raise CommandError(
                f"the database stayed busy ({error}); nothing changed, try again"
            ) from None
        what = (
            f"{summary.created} created, {summary.changed} changed, {summary.deleted} deleted"
            if revision
            else "nothing changed"
        )
        self.stdout.write(
            f"imported {summary.rules} rules for {summary.packages} packages on "
            f"{', '.join(summary.domains) or 'no domains'} into {organisation.slug}: {what}"
        )

    def _organisation(self, options) -> Organisation:
        slug = options["org"]
        organisation = Organisation.objects.filter(slug=slug).first()
        if organisation is not None:
            return organisation
        if not options["create_org"]:
            raise CommandError(f"no organisation {slug!r} (use --create-org to create it)")
        if not options["owner"]:
            raise CommandError("--create-org needs --owner EMAIL: nobody could see it otherwise")
        owner = User.objects.filter(email__iexact=options["owner"]).first()
        if owner is None:
            raise CommandError(f"no user {options['owner']!r}: sign up first, then import")
        organisation = Organisation.objects.create(name=slug, slug=slug)
        Membership.objects.create(user=owner, organisation=organisation, role=Membership.OWNER)
        return organisation

    def _read(self, path: str):
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"{path} is not valid JSON: {error}") from None
