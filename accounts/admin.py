"""Django admin for tenants, plans, credits and API keys.

Changes with rules go through accounts.services: a plan set on a user (by the action or the change form)
grants its credits through the ledger, suspension and reactivation go through set_user_active (a suspension
stops the user's keys and signs their panel sessions out at once), keys are issued, rotated and revoked there, and
balances move only through the ledger (top-ups, and adjustments up or down that never go below zero). Apps above
accounts add read-only pages about a user (their message history) with register_user_page. Plain profile fields (email,
name, roles) are saved by the admin form itself.

Only a superuser changes roles and permissions (is_superuser, is_staff, groups, user permissions) or touches a
superuser's account or keys; staff of the Admin role see those read-only. A new API key is shown once, on
the page the rotate action answers with, and never travels in a flash message. The sign-in page is
accounts.signin.AdminLoginForm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from accounts import services
from accounts.models import CHANNELS, ApiKey, CreditAccount, CreditEntry, Plan, SiteSetting, User
from accounts.signin import AdminLoginForm
from xsender.admin_views import ViewOnlyAdmin
from xsender.errors import ValidationFailed

# One sign-in page for the admin, with or without XSENDER_ADMIN_2FA (xsender/urls.py swaps in django-otp's
# site class, which keeps these instance attributes).
admin.site.login_form = AdminLoginForm
admin.site.login_template = "admin/login.html"

PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")
SUPERUSERS_ONLY = "Only a superuser may change a superuser or their keys"


def guards_superusers(request: HttpRequest, target: User | None) -> bool:
    """Whether `target` is a superuser that the signed-in staff member, not being one, must leave alone."""
    return target is not None and target.is_superuser and not request.user.is_superuser


class TopUpForm(forms.Form):
    channel = forms.ChoiceField(choices=[(c, c) for c in CHANNELS])
    amount = forms.IntegerField(min_value=1)


class AssignPlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.filter(is_active=True))


class AdjustCreditsForm(forms.Form):
    channel = forms.ChoiceField(choices=[(c, c) for c in CHANNELS])
    delta = forms.IntegerField(
        label="Change", help_text="Credits to add, or to take away with a minus sign (never below zero)."
    )
    note = forms.CharField(max_length=255, required=False, help_text="Why (kept in the ledger).")

    def clean_delta(self) -> int:
        if self.cleaned_data["delta"] == 0:
            raise forms.ValidationError("Enter a number of credits other than 0.")
        return self.cleaned_data["delta"]


@dataclass(frozen=True)
class UserPage:
    """A read-only page about one user that an app above accounts adds to the user's admin page (accounts
    cannot import it): `view(request, user)` renders it for staff holding `permission`."""

    label: str
    view: Callable[[HttpRequest, User], HttpResponse]
    permission: str


USER_PAGES: dict[str, UserPage] = {}


def register_user_page(name: str, page: UserPage) -> None:
    """Adds `page` at /admin/accounts/user/<id>/pages/<name>/, linked from the user's admin page."""
    USER_PAGES[name] = page


def intermediate(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, form_class: type[forms.Form], title: str
) -> tuple[forms.Form | None, HttpResponse | None]:
    """Shows `form_class` for an action; returns (valid form, None) once posted, else (None, the page)."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            return form, None
    else:
        form = form_class()
    return None, action_page(modeladmin, request, queryset, form, title)


def action_page(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, form: forms.Form, title: str
) -> HttpResponse:
    """The action's form page (again, with its errors, when applying it failed)."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "action": request.POST.get("action"),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/xsender_action_form.html", context)


class CreditAccountInline(admin.TabularInline):
    model = CreditAccount
    extra = 0
    can_delete = False
    readonly_fields = ("channel", "balance", "unlimited", "updated_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    readonly_fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("hashed_key",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "plan", "is_active", "is_superuser", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "plan", "groups")
    search_fields = ("email", "name")
    list_select_related = ("plan",)
    readonly_fields = ("date_joined", "last_login", "plan_expires_at")
    fieldsets = (
        (None, {"fields": ("email", "name", "password")}),
        ("Plan", {"fields": ("plan", "plan_expires_at")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    inlines = [CreditAccountInline, ApiKeyInline]
    actions = ["top_up", "adjust_credits", "assign_plan", "suspend", "reactivate", "issue_key"]

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else fields + PRIVILEGE_FIELDS

    def get_urls(self) -> list[URLPattern]:
        page = path(
            "<path:object_id>/pages/<slug:name>/",
            self.admin_site.admin_view(self.user_page),
            name="accounts_user_page",
        )
        return [page, *super().get_urls()]

    def user_page(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        """A page an app registered with register_user_page, for staff who may view the user and hold its
        permission."""
        page, user = USER_PAGES.get(name), self.get_object(request, object_id)
        if page is None or user is None:
            raise Http404("No such page.")
        if not (self.has_view_permission(request, user) and request.user.has_perm(page.permission)):
            raise PermissionDenied
        return page.view(request, user)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        pages = [
            (page.label, reverse("admin:accounts_user_page", args=[object_id, name]))
            for name, page in USER_PAGES.items()
            if request.user.has_perm(page.permission)
        ]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "user_pages": pages})

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return super().has_change_permission(request, obj) and not guards_superusers(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not guards_superusers(request, obj)

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        """The form saves the plain fields; a new plan or a suspension goes through the services."""
        plan, active = obj.plan, obj.is_active
        if change:  # written below by the services, with their rules (credits, expiry)
            obj.plan_id, obj.is_active = form.initial.get("plan"), form.initial.get("is_active", active)
        super().save_model(request, obj, form, change)
        if change and "plan" in form.changed_data:
            services.assign_plan(user=obj, plan=plan) if plan else services.remove_plan(user=obj)
        if change and "is_active" in form.changed_data:
            services.set_user_active(user=obj, active=active)

    def _touchable(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        """The selected users this staff member may change; says so when superusers were left out."""
        if request.user.is_superuser:
            return queryset
        left = queryset.filter(is_superuser=True).count()
        if left:
            self.message_user(request, f"{SUPERUSERS_ONLY}: {left} left unchanged.", messages.ERROR)
        return queryset.filter(is_superuser=False)

    @admin.action(description="Top up credit", permissions=["change"])
    def top_up(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        form, page = intermediate(self, request, queryset, TopUpForm, "Top up credit")
        if form is None:
            return page
        users = self._touchable(request, queryset)
        for user in users:
            services.add_credits(user=user, channel=form.cleaned_data["channel"], amount=form.cleaned_data["amount"])
        self.message_user(
            request,
            f"Added {form.cleaned_data['amount']} {form.cleaned_data['channel']} credits to {users.count()} user(s).",
        )
        return None

    @admin.action(description="Adjust credit (up or down, through the ledger)", permissions=["change"])
    def adjust_credits(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        """All or nothing: when one user's balance cannot go that far down, nobody's changes and the form says
        why."""
        form, page = intermediate(self, request, queryset, AdjustCreditsForm, "Adjust credit")
        if form is None:
            return page
        users = self._touchable(request, queryset)
        data = form.cleaned_data
        try:
            with transaction.atomic():
                for user in users:
                    services.adjust_credits(user=user, channel=data["channel"], delta=data["delta"], note=data["note"])
        except ValidationFailed as exc:
            form.add_error("delta" if exc.errors[0].get("field") == "delta" else None, exc.message)
            return action_page(self, request, queryset, form, "Adjust credit")
        self.message_user(request, f"{data['delta']:+d} {data['channel']} credits for {users.count()} user(s).")
        return None

    @admin.action(description="Assign a plan (grants its credits)", permissions=["change"])
    def assign_plan(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        form, page = intermediate(self, request, queryset, AssignPlanForm, "Assign a plan")
        if form is None:
            return page
        users = self._touchable(request, queryset)
        for user in users:
            services.assign_plan(user=user, plan=form.cleaned_data["plan"])
        self.message_user(request, f"Plan {form.cleaned_data['plan'].slug} assigned to {users.count()} user(s).")
        return None

    @admin.action(description="Suspend (keys and logins stop working)", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in self._touchable(request, queryset).exclude(pk=request.user.pk):
            services.set_user_active(user=user, active=False)
        self.message_user(request, "Selected users suspended (your own account is never suspended from here).")

    @admin.action(description="Reactivate", permissions=["change"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in self._touchable(request, queryset):
            services.set_user_active(user=user, active=True)
        self.message_user(request, "Selected users reactivated.")

    @admin.action(description="Rotate API key (shows the new key once)", permissions=["change"])
    def issue_key(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        """Answers with a page that shows each new key once; a key is never put in a (stored) flash message."""
        issued = [(user, services.rotate_api_key(user=user)[1]) for user in self._touchable(request, queryset)]
        if not issued:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "New API keys",
            "issued": issued,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/xsender_new_keys.html", context)
        response["Cache-Control"] = "no-store"  # the page holds secrets: no browser or proxy keeps a copy
        return response


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "slug",
        "name",
        "email_credits",
        "sms_credits",
        "whatsapp_credits",
        "rate_limit_per_minute",
        "duration_days",
        "is_active",
    )
    list_filter = ("is_active",)
    search_fields = ("slug", "name")


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "channel", "balance", "unlimited", "updated_at")
    list_filter = ("channel", "unlimited")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    readonly_fields = ("user", "channel", "balance", "unlimited", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CreditEntry)
class CreditEntryAdmin(ViewOnlyAdmin):
    """The ledger is append-only: readable here, written only by the credit services."""

    list_display = ("created_at", "account", "delta", "reason", "note", "message_uid")
    list_filter = ("reason", "account__channel")
    search_fields = ("account__user__email", "message_uid", "note")
    list_select_related = ("account__user",)
    date_hierarchy = "created_at"


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("prefix", "user__email", "name")
    list_select_related = ("user",)
    exclude = ("hashed_key",)
    # A key stays with the user it was issued to: moving a known key to a superuser would make it admin-scope.
    readonly_fields = ("user", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        target = obj.user if obj is not None else None
        return super().has_change_permission(request, obj) and not guards_superusers(request, target)

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        target = obj.user if obj is not None else None
        return super().has_delete_permission(request, obj) and not guards_superusers(request, target)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are issued from the user page ("Rotate API key"), so the secret is shown once

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        if not request.user.is_superuser:
            left = queryset.filter(user__is_superuser=True).count()
            if left:
                self.message_user(request, f"{SUPERUSERS_ONLY}: {left} key(s) left unchanged.", messages.ERROR)
            queryset = queryset.filter(user__is_superuser=False)
        keys = list(queryset.select_related("user"))
        for key in keys:
            services.revoke_api_key(key=key)
        self.message_user(request, f"{len(keys)} key(s) revoked.")


@admin.register(SiteSetting)
class SiteSettingAdmin(admin.ModelAdmin):
    list_display = ("key", "value", "updated_at")
    search_fields = ("key",)
