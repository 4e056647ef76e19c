"""Users, organisations (the tenants) and memberships with roles."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from . import roles


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person; signs in with an e-mail address."""

    username = None
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Organisation(models.Model):
    """A tenant: everything a customer owns hangs off one."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=63, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    require_two_factor = models.BooleanField(
        "require two-factor authentication of members",
        default=False,
        help_text="Members reach the organisation only from a session verified with a "
        "second factor (an authenticator app or a passkey); API tokens keep working.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def unique_slug(cls, name: str) -> str:
        """A DNS-label-safe slug for `name`, suffixed until unused."""
        base = slugify(name).replace("_", "-")[:55].strip("-") or "org"
        slug, n = base, 1
        while cls.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug

    @classmethod
    @transaction.atomic
    def create_for(cls, user: User, name: str) -> Organisation:
        """Create an organisation owned by `user`."""
        organisation = cls.objects.create(name=name, slug=cls.unique_slug(name))
        Membership.objects.create(user=user, organisation=organisation, role=Membership.OWNER)
        return organisation


class Membership(models.Model):
    OWNER = roles.OWNER
    ADMIN = roles.ADMIN
    MEMBER = roles.MEMBER
    ROLES = [(OWNER, "Owner"), (ADMIN, "Admin"), (MEMBER, "Member")]

    user = models.ForeignKey(User, models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=ROLES, default=MEMBER)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation} ({self.role})"

    @property
    def can_manage(self) -> bool:
        """Owners and admins change packages, domains and tokens."""
        return roles.allows(self.role, roles.MANAGE)

    def is_last_owner(self) -> bool:
        """Whether this is the organisation's only owner: the dashboard and
        the API refuse to demote or remove it. Call it inside a transaction:
        the owners' rows stay locked until the change commits, so two owners
        demoting each other at once cannot both succeed."""
        owners = Membership.objects.select_for_update().filter(
            organisation_id=self.organisation_id, role=self.OWNER
        )
        return list(owners.values_list("id", flat=True)) == [self.id]


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random secret: enough for API keys (no salt or
    stretching needed) and lets a request find its token by index."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A credential for the REST API, belonging to an organisation.

    Only a SHA-256 of the secret is stored; `prefix` (the secret's first
    characters) lets people tell their tokens apart.
    """

    READ = "read"
    WRITE = "write"
    SCOPES = [(READ, "Read"), (WRITE, "Read and write")]
    SECRET_PREFIX = "gw_"  # noqa: S105 - marks our tokens in logs and scanners; not secret
    PREFIX_LENGTH = 11

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="api_tokens")
    created_by = models.ForeignKey(User, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=20)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=10, choices=SCOPES, default=READ)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, organisation: Organisation, user: User, **fields) -> tuple[ApiToken, str]:
        """Create a token; returns it with its secret, which is never seen again."""
        secret = cls.SECRET_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            organisation=organisation,
            created_by=user,
            prefix=secret[: cls.PREFIX_LENGTH],
            key_hash=hash_secret(secret),
            **fields,
        )
        return token, secret

    @classmethod
    def find(cls, secret: str) -> ApiToken | None:
        """The token whose secret this is (revoked and expired ones included)."""
        digest = hash_secret(secret)
        found = cls.objects.filter(key_hash=digest).select_related("organisation", "created_by")
        token = found.first()
        if token is None or not hmac.compare_digest(token.key_hash, digest):
            return None
        return token

    @property
    def usable(self) -> bool:
        return self.revoked is None and (self.expires is None or self.expires > timezone.now())

    @property
    def role(self) -> str | None:
        """The role the token acts with: its scope's, capped by its creator's
        current role; None once the creator has left the organisation."""
        membership = Membership.objects.filter(
            user_id=self.created_by_id, organisation_id=self.organisation_id
        ).first()
        if membership is None:
            return None
        return roles.weakest(
            roles.ADMIN if self.scope == self.WRITE else roles.MEMBER, membership.role
        )

    def touch(self) -> None:
        """Record use, at most once a minute (not a write per request)."""
        now = timezone.now()
        if self.last_used is None or now - self.last_used > timedelta(minutes=1):
            ApiToken.objects.filter(id=self.id).update(last_used=now)
            self.last_used = now

    def revoke(self) -> None:
        if self.revoked is None:
            self.revoked = timezone.now()
            self.save(update_fields=["revoked"])


class Invitation(models.Model):
    """An offer to join an organisation with a role, accepted by whoever signs
    in with the invited e-mail address and presents the secret."""

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.ROLES, default=Membership.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    accepted = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organisation} ({self.role})"

    @classmethod
    def refusal(cls, organisation: Organisation, email: str) -> str | None:
        """Why `email` cannot be invited to the organisation now (None: it can):
        it belongs to a member, or already has a pending invitation."""
        member = organisation.memberships.filter(user__email__iexact=email).first()
        if member is not None:
            return f"{email} is already a member ({member.role})"
        if organisation.invitations.filter(email=email.lower(), accepted=None).exists():
            return f"{email} is invited already: revoke that invitation to send a new one"
        return None

    @classmethod
    def issue(cls, organisation: Organisation, inviter: User, email: str, role: str):
        """Create an invitation; returns it with its secret, shown only now.
        Call `refusal` first: this does not check again."""
        secret = secrets.token_urlsafe(32)
        invitation = cls.objects.create(
            organisation=organisation,
            email=email.lower(),
            role=role,
            token_hash=hash_secret(secret),
            invited_by=inviter,
        )
        return invitation, secret

    @classmethod
    def pending(cls, secret: str) -> Invitation | None:
        return cls.objects.filter(token_hash=hash_secret(secret), accepted=None).first()

    def is_for(self, user: User) -> bool:
        return user.email.lower() == self.email

    @transaction.atomic
    def accept(self, user: User) -> Membership:
        """Join `user` to the organisation (keeping a stronger role they hold)."""
        membership, created = Membership.objects.get_or_create(
            user=user, organisation=self.organisation, defaults={"role": self.role}
        )
        if not created and roles.weakest(membership.role, self.role) == membership.role:
            membership.role = self.role
            membership.save(update_fields=["role"])
        self.accepted = timezone.now()
        self.save(update_fields=["accepted"])
        return membership
