from django.core.management.base import BaseCommand

from referrals.actions import partners_reencrypt_secrets


class Command(BaseCommand):
    help = "Re-encrypt every partner webhook secret under the first FIELD_ENCRYPTION_KEY entry."

    def handle(self, *args, **options) -> None:
        count = partners_reencrypt_secrets()
        self.stdout.write(f"Re-encrypted the secrets of {count} partner(s).")
