from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.roles import MANAGE, role_required
from apps.packages import services
from apps.packages.models import Domain


@login_required
def home(request):
    organisation = request.organisation
    context = {"organisation": organisation}
    if organisation is not None:
        context["domains"] = organisation.domains.order_by("hostname")
        context["packages"] = organisation.packages.order_by("name")
    return render(request, "dashboard/home.html", context)


@require_POST
@role_required(MANAGE)
def verify_domain(request, domain_id: int):
    """Check a claimed domain's TXT record now, as the API's verify action does."""
    domain = get_object_or_404(Domain, id=domain_id, organisation=request.organisation)
    if services.verify_domain(domain, services.Actor(user=request.user)):
        messages.success(request, f"{domain.hostname} is verified and serves traffic.")
    else:
        messages.error(
            request, f"No TXT record at {domain.challenge_name} holds the expected value yet."
        )
    return redirect("home")
