"""EXPLAIN (ANALYZE, BUFFERS) of the statements each panel page runs on the messages and the daily counts, for
docs/performance.md: captured from the page itself, rendered in process as the big tenant."""

from __future__ import annotations

from typing import Any

PAGES = {
    "dashboard": "/",
    "history (first page)": "/history/",
    "history (Delivered SMS, one week)": "/history/?status=Delivered&channel=sms&since={0}&until={1}",
    "history (Failed email, one week)": "/history/?status=Failed&channel=email&since={0}&until={1}",
    "message detail": "/history/{uid}/",
}
TABLES = ("messaging_message", "messaging_dailycount", "messaging_messageevent")


def explain_pages(data: dict[str, Any]) -> str:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(pk=data["user_id"]))
    out = []
    for title, path in PAGES.items():
        url = path.format(*data["week"], uid=data["uids"][0])
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, secure=True).status_code == 200
        statements = [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in TABLES)]
        out.append(f"== {title}: GET {url.split('?')[0]} ({len(captured.captured_queries)} queries in all)")
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                seq = "Seq Scan on messaging_message" in plan
                out.append(
                    f"-- {sql[:300]}{'…' if len(sql) > 300 else ''}\n{plan}\n{'!! SEQUENTIAL SCAN' if seq else ''}"
                )
    return "\n".join(out)
