from .models import Membership


def organisations(request):
    """The organisations the user can switch between, for the navigation bar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = Membership.objects.filter(user=user).select_related("organisation")
    return {"memberships": memberships.order_by("organisation__name")}
