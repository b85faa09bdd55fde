from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("enforcement/check/", views.EnforcementCheckApi.as_view(), name="enforcement-check"),
]
