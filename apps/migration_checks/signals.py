"""`migration_check_finished(sender=MigrationCheck, check=...)`: sent once a
check has its final status (clean, differences or failed), after commit."""

from django.dispatch import Signal

migration_check_finished = Signal()
