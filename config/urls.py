"""Top-level URL map: the browser pages, the versioned API, its schema and docs, Django admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("labeling.api.urls")),
    path("api/v1/", include("rounds.api.urls")),
    path("", include("rounds.urls")),
    path("", include("frontend.urls")),
]

handler404 = "labeling.api.errors.not_found_handler"
handler500 = "labeling.api.errors.server_error_handler"
