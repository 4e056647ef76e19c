from __future__ import annotations

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import encrypt
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS

from . import throttle
from .models import User


class SignupForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254)
    password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    organisation = forms.CharField(
        label="Organisation name",
        max_length=100,
        help_text="Your team or project; you can create more later.",
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            candidate = User(email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LoginForm(AuthenticationForm):
    """Sign-in by e-mail address, throttled per account and client address."""

    username = forms.EmailField(label="E-mail address", max_length=254)

    def clean(self):
        email = self.cleaned_data.get("username")
        if not email:
            return super().clean()
        address = throttle.client_address(self.request)
        if throttle.locked_out(email, address):
            raise forms.ValidationError(
                "Too many failed sign-in attempts for this account. Try again in "
                f"{throttle.lockout_minutes()} minutes, or reset your password.",
                code="locked_out",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(email, address)
            raise
        throttle.clear(email, address)
        return cleaned

    @property
    def locked_out(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, "locked_out")


class OrganisationForm(forms.Form):
    name = forms.CharField(label="Organisation name", max_length=100)


class ActivateTOTPForm(AllauthActivateTOTPForm):
    """allauth's, except that the code that turns the authenticator app on is
    spent like any other: allauth checks it without marking it used, so it
    would pass a sign-in or a second-factor check once more."""

    def clean_code(self) -> str:
        code = super().clean_code()
        activating = Authenticator(
            user=self.user, type=Authenticator.Type.TOTP, data={"secret": encrypt(self.secret)}
        )
        if not TOTP(activating).validate_code(code):
            raise get_mfa_adapter().validation_error("incorrect_code")
        return code
