from django.urls import path

from . import views

urlpatterns = [
    path("auth/register/", views.RegisterApi.as_view(), name="auth-register"),
    path("auth/token/", views.TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", views.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", views.LogoutApi.as_view(), name="auth-logout"),
    path("auth/password-reset/", views.PasswordResetApi.as_view(), name="auth-password-reset"),
    path("auth/password-reset/confirm/", views.PasswordResetConfirmApi.as_view(), name="auth-password-reset-confirm"),
    path("users/me/", views.MeApi.as_view(), name="users-me"),
    path("users/me/password/", views.PasswordChangeApi.as_view(), name="users-me-password"),
    path("organizations/", views.OrganizationListApi.as_view(), name="organizations"),
    path("organizations/<uuid:organization_id>/", views.OrganizationDetailApi.as_view(), name="organization-detail"),
    path("organizations/<uuid:organization_id>/members/", views.MemberListApi.as_view(), name="organization-members"),
    path(
        "organizations/<uuid:organization_id>/members/<int:member_id>/",
        views.MemberDetailApi.as_view(),
        name="organization-member-detail",
    ),
]
