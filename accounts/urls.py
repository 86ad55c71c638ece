"""URL routes of accounts: ``auth_urlpatterns`` under /api/v1/auth/, ``urlpatterns`` under
/api/v1/users/ (both mounted by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver, path

from accounts import apis

auth_urlpatterns: list[URLPattern | URLResolver] = [
    path("register/", apis.RegisterApi.as_view(), name="auth-register"),
    path("token/", apis.LoginApi.as_view(), name="auth-token"),
    path("refresh/", apis.RefreshApi.as_view(), name="auth-refresh"),
    path("logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("logout-all/", apis.LogoutAllApi.as_view(), name="auth-logout-all"),
    path("change-password/", apis.ChangePasswordApi.as_view(), name="auth-change-password"),
    path("verify-email/", apis.VerifyEmailApi.as_view(), name="auth-verify-email"),
    path("forgot-password/", apis.ForgotPasswordApi.as_view(), name="auth-forgot-password"),
    path("reset-password-confirm/", apis.ResetPasswordConfirmApi.as_view(), name="auth-reset-password-confirm"),
    path("request-email-change/", apis.RequestEmailChangeApi.as_view(), name="auth-request-email-change"),
    path("confirm-email-change/", apis.ConfirmEmailChangeApi.as_view(), name="auth-confirm-email-change"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", apis.UserListApi.as_view(), name="user-list"),
    path("me/", apis.MeApi.as_view(), name="user-me"),
    path("<str:username>/", apis.UserDetailApi.as_view(), name="user-detail"),
    path("<str:username>/role/", apis.UserRoleApi.as_view(), name="user-role"),
]
