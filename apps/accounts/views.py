from __future__ import annotations

from allauth.socialaccount.internal.flows.login import complete_login
from allauth.socialaccount.models import SocialLogin
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from apps.outbox.queue import enqueue_on_commit

from .adapters import PENDING_LINK, addresses_of, linked_forges
from .authentication import sign_in_with_password
from .forms import LoginForm, OrganisationForm, SignupForm
from .middleware import SESSION_KEY
from .models import Invitation, Membership, Organisation, User


class LoginView(auth_views.LoginView):
    """Django's sign-in form, by e-mail address (a locked-out attempt is a 429),
    then allauth's login flow: a second factor when the user has one."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        return sign_in_with_password(self.request, form.get_user(), self.get_success_url())

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked_out:
            response.status_code = 429
        return response


@login_required
@require_POST
def end_session(request, session_id: int):
    """Sign out one of the user's other sessions (the sessions page lists them)."""
    session = UserSession.objects.filter(id=session_id, user=request.user).first()
    if session is None or session.session_key == request.session.session_key:
        raise Http404("No other session of yours with this id")
    session.end()
    messages.success(request, f"Signed out the session from {session.ip}.")
    return redirect("usersessions_list")


@sensitive_post_parameters("password")
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = User.objects.create_user(
                form.cleaned_data["email"], form.cleaned_data["password"]
            )
            organisation = Organisation.create_for(user, form.cleaned_data["organisation"])
            enqueue_on_commit("apps.accounts.tasks.send_welcome_email", user.id)
        response = sign_in_with_password(request, user, reverse("home"))
        request.session[SESSION_KEY] = organisation.id
        return response
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def organisations(request):
    form = OrganisationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        organisation = Organisation.create_for(request.user, form.cleaned_data["name"])
        request.session[SESSION_KEY] = organisation.id
        messages.success(request, f"Created {organisation.name}; it is now your current one.")
        return redirect("home")
    # The list is the navigation's `memberships` (context_processors.organisations).
    return render(request, "accounts/organisations.html", {"form": form})


@login_required
@require_POST
def switch_organisation(request, slug: str):
    membership = (
        Membership.objects.filter(user=request.user, organisation__slug=slug)
        .select_related("organisation")
        .first()
    )
    if membership is None:
        raise Http404("No such organisation")
    request.session[SESSION_KEY] = membership.organisation_id
    messages.success(request, f"Switched to {membership.organisation.name}.")
    return redirect("home")


@login_required
def accept_invitation(request, secret: str):
    """Join the organisation an invitation to the signed-in address names."""
    invitation = Invitation.pending(secret)
    if invitation is None or not invitation.is_for(request.user):
        raise Http404("No pending invitation for you with this link")
    if request.method == "POST":
        invitation.accept(request.user)
        request.session[SESSION_KEY] = invitation.organisation_id
        messages.success(request, f"You joined {invitation.organisation.name}.")
        return redirect("home")
    return render(request, "accounts/accept_invitation.html", {"invitation": invitation})


def link_account(request):
    """A forge (GitHub, GitLab) sign-in whose verified address is an existing
    account's: link the two and sign in, once the person says so."""
    data = request.session.get(PENDING_LINK)
    if data is None:
        raise Http404("No forge sign-in waits to be linked")
    sociallogin = SocialLogin.deserialize(data)
    verified, _unverified = addresses_of(sociallogin)
    user = User.objects.filter(email__in=verified).first()
    if user is None:
        raise Http404("No account has this address any more")
    if request.method == "POST":
        del request.session[PENDING_LINK]
        if "link" not in request.POST:
            messages.info(request, "Nothing was linked.")
            return redirect("login")
        sociallogin.connect(request, user)
        return complete_login(request, SocialLogin.deserialize(data))
    context = {"provider": sociallogin.provider.name, "email": user.email}
    return render(request, "accounts/link_account.html", context)


@login_required
def reauthenticate_with_forge(request):
    """Asking again a person who came through a forge and has neither a
    password nor a second factor (allauth's adapter sends them here): they
    confirm with the forge, and the change that asked goes through."""
    forges = linked_forges(request, request.user)
    if not forges:
        raise Http404("No forge account is linked to yours")
    context = {"forges": forges, "next": request.GET.get("next", "")}
    return render(request, "account/reauthenticate_with_forge.html", context)
