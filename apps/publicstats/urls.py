from django.urls import path

from . import views

urlpatterns = [
    path("<slug:organisation>/<path:package>.svg", views.badge, name="public-badge"),
    path("<slug:organisation>/<path:package>/", views.package_page, name="public-package"),
]
