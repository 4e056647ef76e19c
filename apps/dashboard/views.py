from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    organisation = request.organisation
    context = {"organisation": organisation}
    if organisation is not None:
        context["domains"] = organisation.domains.order_by("hostname")
        context["packages"] = organisation.packages.order_by("name")
    return render(request, "dashboard/home.html", context)
