from django.conf import settings
from django.core.management.base import BaseCommand

from apps.gateway.routing import publish_all


class Command(BaseCommand):
    help = "Write every verified domain's routing entry to Redis (after Redis lost its data)."

    def handle(self, *args, **options):
        if settings.EMBEDDED:
            self.stdout.write("embedded mode: routing is read from the database, nothing to do")
            return
        self.stdout.write(f"published {publish_all()} domains")
