from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from graphql_api.schema import schema
from graphql_api.views import VaultGraphQLView

# CSRF is checked by the authentication class on cookie-authenticated requests, as in REST.
urlpatterns = [path("", csrf_exempt(VaultGraphQLView.as_view(schema=schema)), name="graphql")]
