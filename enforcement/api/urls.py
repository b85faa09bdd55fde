from django.urls import URLPattern, URLResolver, path

from . import views

V = "enforcement/violations/<int:violation_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("enforcement/check/", views.EnforcementCheckApi.as_view(), name="enforcement-check"),
    path("enforcement/violations/", views.ViolationListIssueApi.as_view(), name="enforcement-violations"),
    path(V, views.ViolationStaffDetailApi.as_view(), name="enforcement-violation-detail"),
    path(f"{V}waive/", views.ViolationWaiveApi.as_view(), name="enforcement-violation-waive"),
    path(f"{V}escalate/", views.ViolationEscalateApi.as_view(), name="enforcement-violation-escalate"),
    path(f"{V}reopen/", views.ViolationReopenApi.as_view(), name="enforcement-violation-reopen"),
    path(f"{V}evidence/", views.ViolationEvidenceApi.as_view(), name="enforcement-violation-evidence"),
    path("enforcement/disputes/", views.DisputeListApi.as_view(), name="enforcement-disputes"),
    path(
        "enforcement/disputes/<int:dispute_id>/resolve/",
        views.DisputeResolveApi.as_view(),
        name="enforcement-dispute-resolve",
    ),
    path("violations/", views.DriverViolationListApi.as_view(), name="violations"),
    path("violations/<int:violation_id>/", views.DriverViolationDetailApi.as_view(), name="violation-detail"),
    path("violations/<int:violation_id>/pay/", views.DriverViolationPayApi.as_view(), name="violation-pay"),
    path("violations/<int:violation_id>/dispute/", views.DriverViolationDisputeApi.as_view(), name="violation-dispute"),
]
