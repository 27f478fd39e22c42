"""Templates rendered for contacts: placeholders, fallbacks, escaping by part, and what a template cannot reach."""

from __future__ import annotations

import datetime

import pytest

from campaigns.rendering import PlaceholderError, check_source, compile_source, contact_context, render, render_source
from campaigns.services import create_template, preview_template, render_template

pytestmark = pytest.mark.django_db

ADA = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "custom": {"city": "London"}}


def text(source: str, contact: dict, **kwargs) -> str:
    return render_source(source, contact_context(contact, **kwargs))


def test_placeholders_fallbacks_and_custom_fields_are_filled():
    source = 'Hi {{ first_name|default:"there" }} {{ last_name }} <{{ email }}> from {{ custom.city|default:"?" }}'
    assert text(source, ADA) == "Hi Ada Lovelace <ada@example.com> from London"
    assert text(source, {}) == "Hi there  <> from ?"
    assert text("{{ custom.missing|default:first_name }}", ADA) == "Ada"


def test_a_custom_field_a_contact_lacks_is_empty_also_as_a_fallback(alice):
    # Django raises for a filter argument it cannot resolve: every message of such a template would fail.
    source = "[{{ first_name|default:custom.nickname }}][{{ custom.nickname|default:custom.other }}]"
    assert text(source, ADA) == "[Ada][]"
    assert text(source, {"custom": {"nickname": "Ace"}}) == "[Ace][Ace]"
    template = create_template(owner=alice.user, channel="sms", name="t", body="Hi {{ last_name|default:custom.nick }}")
    assert render_template(template=template, contact={"first_name": "Ada"}).body == "Hi "


def test_custom_values_of_every_plain_type_render_and_others_render_as_nothing():
    custom = {"n": 3, "paid": True, "since": datetime.date(2024, 5, 1), "tags": ["a"], "obj": object()}
    source = "{{ custom.n }}|{{ custom.paid }}|{{ custom.since }}|{{ custom.tags }}|{{ custom.obj }}"
    assert text(source, {"custom": custom}) == "3|true|2024-05-01||"


def test_unsubscribe_url_is_filled_and_escaped_only_in_html():
    context = contact_context(ADA, unsubscribe_url="https://x.test/u?a=1&b=2")
    template = compile_source('<a href="{{ unsubscribe_url }}">stop</a>')
    assert render(template, context, html=True) == '<a href="https://x.test/u?a=1&amp;b=2">stop</a>'
    assert render(template, context) == '<a href="https://x.test/u?a=1&b=2">stop</a>'


def test_contact_data_is_escaped_in_html_and_kept_in_text(alice):
    template = create_template(
        owner=alice.user, channel="email", name="t", subject="Hi {{ first_name }}",
        html="<p>Hi {{ first_name }}</p>", text="Hi {{ first_name }}",
    )  # fmt: skip
    shown = render_template(template=template, contact={"first_name": "<script>"}, unsubscribe_url="")
    assert shown.html == "<p>Hi &lt;script&gt;</p>"
    assert (shown.text, shown.subject) == ("Hi <script>", "Hi <script>")


def test_a_line_break_in_the_contacts_data_never_reaches_the_subject(alice):
    template = create_template(owner=alice.user, channel="email", name="t", subject="Hi {{ first_name }}", text="x")
    shown = render_template(template=template, contact={"first_name": "Eve\r\nBcc: all@example.com"})
    assert shown.subject == "Hi Eve Bcc: all@example.com"


def test_names_outside_the_contacts_data_render_as_nothing():
    source = (
        "[{{ settings.SECRET_KEY }}][{{ request.user }}][{{ user.password }}][{{ custom.items }}][{{ custom.clear }}]"
    )
    assert text(source, ADA) == "[][][][][]"
    assert text("{{ custom.items }}", {"custom": {"items": "3 items"}}) == "3 items"  # a field, not dict.items


@pytest.mark.parametrize(
    "source",
    [
        "{% load static %}",
        '{% include "x" %}',
        '{% extends "base.html" %}',
        "{% debug %}",
        "{% csrf_token %}",
        "{% if 1 %}x{% endif %}",
        "{{ first_name.__class__ }}",
        "{{ first_name.upper }}",
        "{{ custom }}",
        "{{ custom.city.title }}",
        "{{ True.real }}",
        "{{ first_name|safe }}",
        "{{ email|default:first_name.lower }}",
        "{{ first_name|default }}",
    ],
)
def test_tags_other_filters_and_lookups_into_values_are_refused(source):
    with pytest.raises(PlaceholderError):
        check_source(f"Hello {source}")


def test_a_compiled_source_is_reused():
    assert compile_source("Hi {{ first_name }}") is compile_source("Hi {{ first_name }}")


def test_preview_renders_with_the_chosen_data(alice):
    template = create_template(
        owner=alice.user, channel="sms", name="s", body="Hi {{ first_name }} {{ unsubscribe_url }}"
    )
    shown = preview_template(template=template, data={"first_name": "Grace"}, unsubscribe_url="https://u.test/x")
    assert shown.body == "Hi Grace https://u.test/x"


def test_whatsapp_cloud_template_component_texts_are_rendered(alice):
    approved = {
        "name": "order_update",
        "language": "en_US",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "{{ first_name|default:'friend' }}"}]}],
    }
    template = create_template(owner=alice.user, channel="whatsapp", name="w", whatsapp_template=approved)
    shown = render_template(template=template, contact={"first_name": "<b>Al</b>"})
    assert shown.whatsapp_template["components"][0]["parameters"][0]["text"] == "<b>Al</b>"
    assert render_template(template=template, contact={}).whatsapp_template["components"][0]["parameters"][0] == {
        "type": "text",
        "text": "friend",
    }
    assert shown.body == ""
    broken = render_template(template=template, contact={"first_name": "Al\nBert"}).whatsapp_template
    assert broken["components"][0]["parameters"][0]["text"] == "Al Bert"  # Meta refuses line breaks in parameters


def test_a_rendered_part_is_plain_text_that_a_page_escapes_like_any_other_data():
    from django.template import Context as PageContext
    from django.template import Template as PageTemplate
    from django.utils.safestring import SafeData

    from campaigns.rendering import compile_source, contact_context, render

    text = render(compile_source("Hi {{ first_name }}"), contact_context({"first_name": "<script>x</script>"}))
    assert text == "Hi <script>x</script>" and not isinstance(text, SafeData)
    assert "&lt;script&gt;" in PageTemplate("{{ part }}").render(PageContext({"part": text}))
