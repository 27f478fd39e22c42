"""Templates in the panel: the list (empty state, constant queries), create after choosing a channel, edit, delete
after a confirmation; the services' refusals at their fields with nothing saved; a preview rendered for a contact
(escaped, in a sandboxed iframe without scripts) with and without htmx; a test send of one charged message; another
tenant's template is a 404."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import CreditAccount
from campaigns import services
from campaigns.models import Template
from contacts import services as contacts
from messaging.models import Message
from tests.messaging.conftest import make_gateway
from tests.panel.conftest import signed_in
from tests.system.conftest import free_port

pytestmark = pytest.mark.django_db
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|<style|\sstyle\s*=", re.I)
EMAIL = {"name": "Welcome", "subject": "Hi {{ first_name }}", "html": "<p>Hello {{ first_name|default:'there' }}</p>",
         "text": "Hello {{ first_name }}", "from_name": "", "reply_to": ""}  # fmt: skip


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="id_{re.escape(field)}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def email_template(alice, **fields: str) -> Template:
    return services.create_template(owner=alice.user, channel="email", **{**EMAIL, **fields})


# ---------------------------------------------------------------- list


def test_the_empty_list_invites_to_create_the_first_template(panel):
    html = panel.get("/templates/", secure=True).content.decode()
    assert "No templates yet — create your first one" in html and 'href="/templates/new/"' in html


def test_templates_sit_in_the_navigation_after_contacts(panel):
    html = panel.get("/templates/", secure=True).content.decode()
    nav = html[html.index('class="nav"') :]
    assert nav.index(">Contacts<") < nav.index(">Templates<") < nav.index(">Gateways<")


def test_the_list_shows_name_and_channel(alice, panel):
    email_template(alice)
    services.create_template(owner=alice.user, channel="sms", name="Reminder", body="See you {{ first_name }}")
    rows = panel.get("/templates/", secure=True).content.decode()
    assert "Welcome" in rows and "Reminder" in rows and ">SMS<" in rows and ">Email<" in rows


def test_the_list_page_costs_the_same_queries_for_5_or_50_templates(alice, panel, django_assert_num_queries):
    for n in range(5):
        services.create_template(owner=alice.user, channel="sms", name=f"t{n:02}", body="Hi")
    panel.get("/templates/", secure=True)  # warm-up
    with CaptureQueriesContext(connection) as five:
        assert "t04" in panel.get("/templates/", secure=True).content.decode()
    for n in range(5, 50):
        services.create_template(owner=alice.user, channel="sms", name=f"t{n:02}", body="Hi")
    with django_assert_num_queries(len(five)):
        assert "t49" in panel.get("/templates/", secure=True).content.decode()


def test_every_template_page_has_no_inline_script_or_style(alice, panel):
    template = email_template(alice)
    urls = ["/templates/", "/templates/new/", "/templates/new/?channel=email", "/templates/new/?channel=whatsapp",
            f"/templates/{template.public_id}/", f"/templates/{template.public_id}/delete/"]  # fmt: skip
    answers = [panel.get(url, secure=True) for url in urls]
    assert [a.status_code for a in answers] == [200] * len(urls)
    assert [url for url, a in zip(urls, answers, strict=True) if INLINE.search(a.content.decode())] == []


# ---------------------------------------------------------------- create, edit, delete


def test_a_new_template_starts_by_choosing_its_channel(panel):
    html = panel.get("/templates/new/", secure=True).content.decode()
    assert all(f'href="/templates/new/?channel={c}"' in html for c in ("email", "sms", "whatsapp"))


def test_an_email_template_is_created_with_its_fields(alice, panel):
    response = panel.post("/templates/new/?channel=email", {**EMAIL, "action": "save"}, secure=True, follow=True)
    template = Template.objects.get(owner=alice.user)
    assert (template.channel, template.subject, template.text) == ("email", "Hi {{ first_name }}", EMAIL["text"])
    assert "Template “Welcome” saved." in response.content.decode()


def test_a_whatsapp_approved_template_is_created_from_its_name_language_and_components(alice, panel):
    form = {"name": "Order", "body": "", "wa_name": "order_update", "wa_language": "en_US",
            "wa_components": '[{"type": "body", "parameters": [{"type": "text", "text": "{{ first_name }}"}]}]'}  # fmt: skip
    panel.post("/templates/new/?channel=whatsapp", form, secure=True)
    saved = Template.objects.get(owner=alice.user).whatsapp_template
    assert saved["name"] == "order_update" and saved["components"][0]["parameters"][0]["text"] == "{{ first_name }}"


def test_an_edit_changes_the_template(alice, panel):
    template = email_template(alice)
    panel.post(f"/templates/{template.public_id}/", {**EMAIL, "subject": "Welcome {{ first_name }}"}, secure=True)
    template.refresh_from_db()
    assert template.subject == "Welcome {{ first_name }}"


def test_a_load_tag_is_refused_at_the_html_field_and_nothing_is_saved(alice, panel):
    form = {**EMAIL, "html": "{% load static %}<p>Hi</p>"}
    response = panel.post("/templates/new/?channel=email", form, secure=True)
    assert response.status_code == 400 and field_errors(response.content.decode(), "html")
    assert Template.objects.count() == 0


def test_an_injection_in_an_edit_is_refused_and_the_template_stays_as_it_was(alice, panel):
    template = email_template(alice)
    form = {**EMAIL, "subject": "{{ first_name.upper }}", "text": "{% include 'x.html' %}"}
    html = panel.post(f"/templates/{template.public_id}/", form, secure=True).content.decode()
    template.refresh_from_db()
    assert field_errors(html, "subject") and field_errors(html, "text") and template.subject == EMAIL["subject"]


def test_a_duplicate_name_is_shown_at_the_name_field(alice, panel):
    email_template(alice)
    html = panel.post("/templates/new/?channel=email", EMAIL, secure=True).content.decode()
    assert "already have a template named" in field_errors(html, "name") and Template.objects.count() == 1


def test_bad_components_json_is_shown_at_its_field(alice, panel):
    form = {"name": "Order", "body": "", "wa_name": "order_update", "wa_language": "en", "wa_components": "[{"}
    html = panel.post("/templates/new/?channel=whatsapp", form, secure=True).content.decode()
    assert "Not valid JSON." in field_errors(html, "wa_components") and Template.objects.count() == 0


def test_delete_asks_first_then_deletes(alice, panel):
    template = email_template(alice)
    asked = panel.get(f"/templates/{template.public_id}/delete/", secure=True).content.decode()
    assert "Delete template “Welcome”?" in asked and Template.objects.count() == 1
    response = panel.post(f"/templates/{template.public_id}/delete/", secure=True, follow=True)
    assert Template.objects.count() == 0 and "Template “Welcome” deleted." in response.content.decode()


# ---------------------------------------------------------------- preview


def test_the_preview_is_rendered_with_the_newest_contact(alice, panel):
    contacts.create_contact(owner=alice.user, email="dave@example.com", first_name="Dave")
    template = email_template(alice)
    html = panel.get(f"/templates/{template.public_id}/", secure=True).content.decode()
    assert '<dd id="preview-subject">Hi Dave</dd>' in html and "Hello Dave</pre>" in html


def test_the_preview_uses_sample_data_without_contacts(alice, panel):
    template = email_template(alice)
    html = panel.get(f"/templates/{template.public_id}/", secure=True).content.decode()
    assert "Hi Ada" in html and "sample data" in html


def test_a_contacts_script_is_escaped_in_the_preview(alice, panel):
    contacts.create_contact(owner=alice.user, email="eve@example.com", first_name="<script>alert(1)</script>")
    template = email_template(alice)
    html = panel.get(f"/templates/{template.public_id}/", secure=True).content.decode()
    assert "<script>alert" not in html and "Hello &lt;script&gt;alert(1)&lt;/script&gt;</pre>" in html


def _frame(panel, template: Template) -> str:
    html = panel.get(f"/templates/{template.public_id}/", secure=True).content.decode()
    return re.search(r"<iframe[^>]*>", html).group(0)


def test_the_html_preview_is_in_an_iframe_sandboxed_without_scripts_from_its_own_url(alice, panel):
    template = email_template(alice, html='<p style="color: red">Hello</p><script>alert(1)</script>')
    frame = _frame(panel, template)
    assert 'sandbox=""' in frame and "allow-scripts" not in frame and "allow-same-origin" not in frame
    src = re.search(r'src="(/templates/preview/[^"/]+/)"', frame).group(1)
    part = panel.get(src, secure=True)
    assert part.status_code == 200 and part["Content-Type"] == "text/html; charset=utf-8"
    assert part.content.decode() == '<p style="color: red">Hello</p><script>alert(1)</script>'
    policy = part["Content-Security-Policy"]
    # The email's inline styles and images render; no script, form, plugin or frame outside the panel.
    assert "default-src 'none'" in policy and "style-src 'unsafe-inline' https:" in policy and "sandbox" in policy
    assert "script-src" not in policy and "frame-ancestors 'self'" in policy and "form-action 'none'" in policy
    assert part["X-Frame-Options"] == "SAMEORIGIN" and part["Cache-Control"] == "no-store, private"


def test_a_preview_part_is_its_owners_only_and_expires(alice, bob, panel):
    src = re.search(r'src="([^"]+)"', _frame(panel, email_template(alice))).group(1)
    assert signed_in(bob.user).get(src, secure=True).status_code == 404  # another tenant
    assert Client().get(src, secure=True).status_code == 302  # signed out: to the sign-in page
    assert panel.get("/templates/preview/" + "x" * 32 + "/", secure=True).status_code == 404  # unknown or expired
    assert panel.get("/templates/preview/" + "x" * 65 + "/", secure=True).status_code == 404


def test_a_tenant_holds_at_most_four_previews_and_none_larger_than_2_mb(alice, bob, panel):
    """Previewing in a loop cannot fill Redis: the oldest of a tenant's previews go, and a huge part stays inline."""
    from panel.template_preview import PREVIEW_MAX_BYTES, stash_html

    tokens = [stash_html(alice.user.pk, f"<p>preview {i}</p>") for i in range(6)]
    bobs = stash_html(bob.user.pk, "<p>bob</p>")  # another tenant's previews are counted apart
    answers = [panel.get(f"/templates/preview/{t}/", secure=True) for t in tokens]
    assert [a.status_code for a in answers] == [404, 404, 200, 200, 200, 200]
    assert answers[-1].content == b"<p>preview 5</p>"
    assert signed_in(bob.user).get(f"/templates/preview/{bobs}/", secure=True).content == b"<p>bob</p>"
    assert stash_html(alice.user.pk, "x" * (PREVIEW_MAX_BYTES + 1)) == ""
    assert panel.get(f"/templates/preview/{tokens[-1]}/", secure=True).status_code == 200  # kept: nothing stored


def test_without_redis_the_html_part_is_shown_inline(alice, panel, settings):
    template = email_template(alice, html="<p>Hello</p><script>alert(1)</script>")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    frame = _frame(panel, template)
    assert 'sandbox=""' in frame and "allow-scripts" not in frame
    assert 'srcdoc="&lt;p&gt;Hello&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in frame


def test_the_preview_button_previews_the_typed_content_with_a_chosen_contact_without_saving(alice, panel):
    contacts.create_contact(owner=alice.user, email="dave@example.com", first_name="Dave")
    erin = contacts.create_contact(owner=alice.user, email="erin@example.com", first_name="Erin")
    template = email_template(alice)
    form = {**EMAIL, "subject": "Changed for {{ first_name }}", "contact": erin.public_id, "action": "preview"}
    html = panel.post(f"/templates/{template.public_id}/", form, secure=True).content.decode()
    template.refresh_from_db()
    assert "Changed for Erin" in html and template.subject == EMAIL["subject"]


def test_htmx_gets_the_preview_of_what_is_typed(alice, panel):
    form = {**EMAIL, "channel": "email", "text": "Dear {{ first_name|default:'friend' }}", "contact": ""}
    html = panel.post("/templates/preview/", form, secure=True, headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<section id="template-preview"') and "Dear Ada" in html
    assert Template.objects.count() == 0


def test_a_refused_placeholder_is_listed_instead_of_a_preview(alice, panel):
    form = {**EMAIL, "channel": "sms", "name": "x", "body": "{{ first_name.upper }}"}
    html = panel.post("/templates/preview/", form, secure=True).content.decode()
    assert "Not previewed until these are fixed" in html and "<pre" not in html


def test_the_preview_cannot_use_another_tenants_contact(alice, bob, panel):
    bobs = contacts.create_contact(owner=bob.user, email="mallory@example.com", first_name="Mallory")
    form = {**EMAIL, "channel": "email", "contact": bobs.public_id}
    html = panel.post("/templates/preview/", form, secure=True).content.decode()
    assert "Mallory" not in html and "Hi Ada" in html


# ---------------------------------------------------------------- test send


@pytest.fixture
def email_gateway(alice):
    return make_gateway(alice.user, "email", "email-console", is_default=True)


def test_a_test_send_creates_one_message_charged_one_credit(alice, panel, email_gateway):
    contacts.create_contact(owner=alice.user, email="dave@example.com", first_name="Dave")
    template = email_template(alice)
    form = {"test-recipient": "qa@example.com", "test-contact": "", "test-gateway": "email-console"}
    response = panel.post(f"/templates/{template.public_id}/test/", form, secure=True, follow=True)
    message = Message.objects.get(user=alice.user)
    assert (message.recipient, message.subject, message.source, message.cost) == (
        "qa@example.com",
        "Hi Ada",
        "panel",
        1,
    )
    assert CreditAccount.objects.get(user=alice.user, channel="email").balance == 99
    assert f'href="/history/{message.uid}/"' in response.content.decode()


def test_a_bad_test_recipient_is_shown_at_its_field_and_nothing_is_sent(alice, panel, email_gateway):
    template = email_template(alice)
    form = {"test-recipient": "not-an-address", "test-contact": "", "test-gateway": "email-console"}
    response = panel.post(f"/templates/{template.public_id}/test/", form, secure=True)
    assert response.status_code == 400 and field_errors(response.content.decode(), "test-recipient")
    assert Message.objects.count() == 0


def test_an_sms_template_is_test_sent_with_a_contacts_data(alice, panel):
    make_gateway(alice.user, "sms", "sms-console", is_default=True)
    dave = contacts.create_contact(owner=alice.user, phone="+15555550111", first_name="Dave")
    template = services.create_template(owner=alice.user, channel="sms", name="Hi", body="Hi {{ first_name }}")
    form = {"test-recipient": "+15555550123", "test-contact": dave.public_id, "test-gateway": ""}
    panel.post(f"/templates/{template.public_id}/test/", form, secure=True)
    assert Message.objects.get(user=alice.user).body == "Hi Dave"


def test_an_approved_whatsapp_template_is_test_sent_where_the_gateway_can_send_it(alice, panel):
    make_gateway(alice.user, "whatsapp", "wa-console", is_default=True)
    make_gateway(alice.user, "whatsapp", "wa-web", provider="whatsapp_web", config={"base_url": "http://127.0.0.1:9"})
    approved = {"name": "order_update", "language": "en", "components": []}
    template = services.create_template(owner=alice.user, channel="whatsapp", name="Order", whatsapp_template=approved)
    form = {"test-recipient": "+15555550123", "test-contact": "", "test-gateway": "wa-web"}
    response = panel.post(f"/templates/{template.public_id}/test/", form, secure=True)
    assert response.status_code == 400 and "cannot send approved WhatsApp templates" in response.content.decode()
    assert Message.objects.count() == 0
    panel.post(f"/templates/{template.public_id}/test/", {**form, "test-gateway": ""}, secure=True)
    assert Message.objects.get(user=alice.user).whatsapp_template == approved


# ---------------------------------------------------------------- another tenant


@pytest.mark.parametrize("suffix", ["", "delete/"])
def test_another_tenants_template_is_a_404(alice, bob, suffix):
    template = email_template(alice)
    client = signed_in(bob.user)
    answers = [client.get(f"/templates/{template.public_id}/{suffix}", secure=True).status_code,
               client.post(f"/templates/{template.public_id}/{suffix}", EMAIL, secure=True).status_code]  # fmt: skip
    assert answers == [404, 404] and Template.objects.get(pk=template.pk).subject == EMAIL["subject"]


def test_another_tenants_template_cannot_be_test_sent(alice, bob, email_gateway):
    template = email_template(alice)
    form = {"test-recipient": "qa@example.com", "test-contact": "", "test-gateway": "email-console"}
    answer = signed_in(bob.user).post(f"/templates/{template.public_id}/test/", form, secure=True)
    assert answer.status_code == 404 and Message.objects.count() == 0
