from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from common.api import ProblemDetailsSerializer
from common.throttling import ScopedRateThrottle

from ..lockout import lockout_error


class TokenView(TokenObtainPairView):
    """Username and password for an access and a refresh token.

    Throttled per IP (scope `auth`); after `AXES_FAILURE_LIMIT` failures for one
    username from one address, that pair is locked out (429) for `AXES_COOLOFF_TIME`.
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(responses={200: TokenObtainPairSerializer, 401: ProblemDetailsSerializer})
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except AuthenticationFailed:
            # django-axes marks the request it was given (ours) when the pair is locked out.
            if getattr(request, "axes_locked_out", False):
                raise lockout_error(request) from None
            raise
        except TokenError as error:
            raise InvalidToken(error.args[0]) from error
        # A token login is a login: django-axes resets the failures, Django updates last_login.
        user_logged_in.send(sender=type(serializer.user), request=request, user=serializer.user)
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


class TokenRefreshThrottledView(TokenRefreshView):
    """A refresh token for a new access token (and a new refresh token: the old one is blacklisted)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_refresh"

    @extend_schema(responses={200: TokenRefreshSerializer, 401: ProblemDetailsSerializer})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
