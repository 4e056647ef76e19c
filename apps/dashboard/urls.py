from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("domains/<int:domain_id>/verify/", views.verify_domain, name="verify-domain"),
]
