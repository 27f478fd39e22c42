"""The product's URLs plus the reference view of `python -m bench single` (never part of the product).

The reference is the floor DRF allows for a send: it authenticates the same `Api-key` (the product's
authentication class) and inserts one row, nothing else.
"""

from __future__ import annotations

from django.db import connection
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyAuthentication
from xsender.urls import urlpatterns as product


class ReferenceView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list = []

    def post(self, request: Request) -> Response:
        item = request.data["contact"][0]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_reference (user_id, recipient, subject, body) VALUES (%s, %s, %s, %s) RETURNING id",
                [request.user.pk, item["email"], item["subject"], item["message"]],
            )
            (row_id,) = cursor.fetchone()
        return Response({"success": True, "message": "Inserted", "data": [{"id": row_id}]})


urlpatterns = [path("bench/reference", ReferenceView.as_view()), *product]
