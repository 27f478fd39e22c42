"""Importing contacts from a CSV/XLSX file and exporting them as CSV.

Import: the upload (size bounded) is read for its header row and kept in Redis for an hour (gzip-compressed, under
a random token of the tenant's), then its columns are mapped to fields (auto-mapped by header name) with a list
and tags, and contacts.services.start_import queues the background job. The job's page shows its progress,
refreshed by htmx every 2 s while it runs (a Refresh link without JavaScript), and the skipped rows with their
reasons. Export: a filter form (list, tag, segment, status) whose download streams contacts.exports.export_csv."""

from __future__ import annotations

import gzip
import json
import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from contacts import imports, services
from contacts.exports import export_csv
from panel.access import tenant_required
from panel.audience import custom_fields_of, imports_of, lists_of, own, segments_of, tags_of
from panel.contact_forms import add_domain_errors
from panel.segment_forms import ExportForm, ImportMappingForm, ImportUploadForm
from xsender.errors import DomainError, ValidationFailed
from xsender.redis import get_redis

KEEP_SECONDS = 3600


def _key(user: User, token: str, part: str) -> str:
    return f"panel:contact-import:{user.pk}:{token}:{part}"


def _keep(user: User, filename: str, headers: list[str], packed: bytes) -> str:
    token = secrets.token_urlsafe(16)
    redis = get_redis()
    redis.set(_key(user, token, "meta"), json.dumps({"filename": filename, "headers": headers}), ex=KEEP_SECONDS)
    redis.set(_key(user, token, "data"), packed, ex=KEEP_SECONDS)
    return token


def _kept(user: User, token: str) -> tuple[str, list[str], bytes] | None:
    redis = get_redis()
    meta, packed = redis.get(_key(user, token, "meta")), redis.get(_key(user, token, "data"))
    if not token or meta is None or packed is None:
        return None
    loaded = json.loads(meta)
    return loaded["filename"], loaded["headers"], packed


def _forget(user: User, token: str) -> None:
    get_redis().delete(_key(user, token, "meta"), _key(user, token, "data"))


def _mapping_page(request: HttpRequest, form: ImportMappingForm, filename: str) -> HttpResponse:
    context = {"form": form, "filename": filename}
    return render(request, "panel/import_mapping.html", context, status=400 if form.errors else 200)


@tenant_required
def import_list(request: HttpRequest) -> HttpResponse:
    """The upload form and the tenant's latest imports; a POSTed file goes on to its column mapping."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        filename = upload.name or "upload.csv"
        try:
            imports.check_file(filename)
            data = upload.read()
            packed = gzip.compress(data, compresslevel=1)
            delimiter = "" if imports.is_xlsx(filename) else imports.sniff_delimiter(data)
            headers = imports.headers_of(filename, packed, delimiter)
        except ValidationFailed as exc:
            form.add_error("file", exc.message)
        else:
            owner = request.user
            token = _keep(owner, filename, headers, packed)
            mapping = ImportMappingForm(headers=headers, fields=custom_fields_of(owner), lists=lists_of(owner),
                                        token=token)  # fmt: skip
            return _mapping_page(request, mapping, filename)
    context = {"form": form, "jobs": imports_of(request.user)}
    return render(request, "panel/imports.html", context, status=400 if form.errors else 200)


@tenant_required
@require_POST
def start_import(request: HttpRequest) -> HttpResponse:
    owner = request.user
    token = request.POST.get("token", "")
    kept = _kept(owner, token)
    if kept is None:
        messages.error(request, "That upload has expired or was imported already: upload the file again.")
        return redirect("panel:contact-imports")
    filename, headers, packed = kept
    form = ImportMappingForm(request.POST, headers=headers, fields=custom_fields_of(owner), lists=lists_of(owner),
                             token=token)  # fmt: skip
    if form.is_valid():
        mapping, aliases = form.mapping()
        try:
            job = services.start_import(owner=owner, filename=filename, data=gzip.decompress(packed), mapping=mapping,
                                        list_id=form.cleaned_data["contact_list"], tags=form.tag_names())  # fmt: skip
        except DomainError as exc:
            add_domain_errors(form, exc, aliases)
        else:
            _forget(owner, token)
            messages.success(request, f"Import of “{filename}” started.")
            return redirect("panel:contact-import", public_id=job.public_id)
    return _mapping_page(request, form, filename)


@tenant_required
def import_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """An import's status and progress; htmx asks again every 2 s while it is queued or running."""
    job = own("import", request.user, public_id)
    running = job.status in ("queued", "running")
    percent = round(100 * job.rows_processed / job.rows_total) if job.rows_total else 0
    context = {"job": job, "running": running, "percent": percent}
    if request.headers.get("HX-Request"):
        return render(request, "panel/_import_progress.html", context)
    return render(request, "panel/import.html", context)


@tenant_required
def export_contacts(request: HttpRequest) -> HttpResponse:
    """The export's filters; with `download`, the matching contacts as a streamed CSV."""
    owner = request.user
    form = ExportForm(request.GET or None, lists=lists_of(owner), tags=tags_of(owner), segments=segments_of(owner))
    if "download" in request.GET and form.is_valid():
        lines = export_csv(owner=owner, wanted=form.wanted(), segment_id=form.cleaned_data["segment"] or "")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="xsender-contacts-{stamp}.csv"'
        return response
    return render(request, "panel/contact_export.html", {"form": form}, status=400 if form.errors else 200)
