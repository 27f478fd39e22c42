"""The fan-out's fast paths give every recipient exactly what the slow paths give: each part of a template as
Django's Template.render renders it, the same signed tokens as Django's Signer, and the same tracked HTML as a
whole parse of each message."""

from __future__ import annotations

import pytest
from django.core import signing

from campaigns import links
from campaigns.rendering import compile_source, contact_context, render, render_source


def rebuilt_tag(attrs: list[tuple[str, str | None]], closed: bool, recipient_id: int) -> str | None:
    """An `<a>` tag rebuilt attribute by attribute, each tracked href replaced by its click URL."""
    parts, changed = ["<a"], False
    for name, value in attrs:
        if name == "href" and value is not None and links._tracked(value.strip()):
            value, changed = links.click_url(recipient_id, value.strip()), True
        parts.append(f" {name}" if value is None else f' {name}="{links.escape(value, quote=True)}"')
    return "".join(parts) + ("/>" if closed else ">") if changed else None


def whole_parse(html: str, recipient_id: int) -> str:
    """track_html as it is without the shapes or the plans: every message parsed whole, each of its anchors
    rebuilt attribute by attribute."""
    parser = links._Links(html)
    parser.feed(html)
    parser.close()
    pieces, last = [], 0
    for start, length, attrs, closed in parser.anchors:
        tag = rebuilt_tag(attrs, closed, recipient_id)
        if tag is not None:
            pieces += [html[last:start], tag]
            last = start + length
    pixel = f'<img src="{links.escape(links.open_url(recipient_id))}" width="1" height="1" alt="" style="border:0">'
    end = parser.body_end if parser.body_end is not None and parser.body_end >= last else len(html)
    return "".join([*pieces, html[last:end], pixel, html[end:]])


@pytest.mark.parametrize("recipient_id", [1, 7, 123456789])
def test_tokens_are_the_ones_django_signs_and_read_back(recipient_id):
    for salt in (links.UNSUBSCRIBE, links.OPEN):
        expected = signing.Signer(salt=salt, algorithm="sha256").sign(str(recipient_id))
        assert links.recipient_token(recipient_id, salt) == expected
        assert links.read_recipient_token(expected, salt) == recipient_id
    signer = signing.Signer(salt=links.CLICK, algorithm="sha256")
    for url in ("https://x.example/", "https://shop.example.com/spring?utm_source=newsletter&utm_medium=email" * 3):
        expected = signer.sign_object([recipient_id, url])
        assert links.click_token(recipient_id, url) == expected
        assert links.read_click_token(expected) == (recipient_id, url)
        compressed = signer.sign_object([recipient_id, url], compress=True)  # tokens made before, still valid
        assert links.read_click_token(compressed) == (recipient_id, url)


def test_a_new_secret_key_signs_with_the_new_key(settings):
    before = links.recipient_token(5, links.OPEN)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert links.recipient_token(5, links.OPEN) != before
    assert links.recipient_token(5, links.OPEN) == signing.Signer(salt=links.OPEN, algorithm="sha256").sign("5")


TEMPLATE = """<!doctype html><html><head><title>News</title><style>p > a { color: red }</style></head>
<body><h1>Hello {{ first_name }}</h1><p title="{{ first_name }}">{{ custom.city }} &amp; more</p>
<!-- a comment with {{ first_name }} and <a href="https://hidden.example/"> -->
<a href="https://shop.example.com/?a=1&amp;b=2">Shop</a> <a href='https://x.example/{{ custom.slug }}'>You</a>
<script>if (a > b) { document.write("<a href='https://js.example/'>") }</script>
<a href="{{ unsubscribe_url }}">Unsubscribe</a><a name=top href=https://bare.example/>bare</a>
</body></html>"""

CONTACTS = [
    {"first_name": "Ada", "custom": {"city": "London", "slug": "ada"}},
    {"first_name": "O'Brien", "custom": {"city": "Cork & Kerry", "slug": "o-brien"}},
    {"first_name": '<script>alert("x")</script>', "custom": {"city": "&#", "slug": "x y"}},
    {"first_name": "Line\nbreak -->", "custom": {"city": "&#x;", "slug": '"><a href="https://evil.example/">'}},
    {"first_name": "", "custom": {}},
    {"first_name": "Zoë ]]> ?>", "custom": {"city": "&amp", "slug": "é"}},
]


@pytest.mark.parametrize("order", [1, -1])
def test_every_contact_of_a_template_gets_the_html_a_whole_parse_gives(order):
    links._SHAPES.clear()
    for n, contact in enumerate(CONTACTS[::order] * 2):
        context = contact_context(contact, unsubscribe_url=links.unsubscribe_url(n))
        html = render_source(TEMPLATE, context, html=True)
        assert links.track_html(html, n) == whole_parse(html, n)
    assert links._SHAPES and None not in links._SHAPES.values()  # the messages were tracked from known shapes


@pytest.mark.parametrize(
    "variants",
    [
        # text that is not HTML-escaped (another caller than a campaign): the shape keeps what it cannot mark
        ['<p>a &# b</p><a href="https://x.example/">x</a>', '<p>a b</p><a href="https://x.example/">x</a>'],
        ["<p>&#x; &# ;</p><a href='https://x.example/'>x</a>", "<p>ok</p><a href='https://x.example/'>x</a>"],
        ['<a title="a > b" href="https://x.example/">x</a>', '<a title="a > c" href="https://x.example/">x</a>'],
        [
            '<img alt="x>y<z" src=a><a href="https://x.example/1">1</a>',
            '<img alt="x>w<z" src=a><a href="https://x.example/2">2</a>',
        ],
        ["<a href='https://x.example/' <b>x</a>", "<a href='https://y.example/' <b>y</a>"],
        [
            "<body>x</body><a href='https://x.example/'>x</a></body>",
            "<body>y</body><a href='https://z.example/'>y</a></body>",
        ],
        ["<a href='https://x.example/'", "<p>x</p><a href='https://x.example/'"],
        ["plain text, no markup", "other text"],
    ],
)
def test_odd_sources_of_one_shape_track_as_a_whole_parse_does(variants):
    links._SHAPES.clear()
    for n, html in enumerate(variants * 2):
        assert links.track_html(html, n) == whole_parse(html, n)


@pytest.mark.parametrize(
    "tag",
    [
        '<a href="https://x.example/">',
        "<A HREF='https://x.example/' Download>",
        '<a download href = "https://x.example/"  title="" />',
        "<a\nhref=\"https://x.example/\"\ttarget='_blank'/>",
        '<a href="https://x.example/?a=1&amp;b=2">',
        "<a href=https://x.example/>",
        '<a title="no link">',
    ],
)
def test_an_anchor_read_alone_has_the_attributes_the_parser_gives(tag):
    anchors, _ = links._parsed(tag)
    expected = (anchors[0][2], anchors[0][3]) if anchors else None
    assert links._anchor_of(tag) == expected


SOURCES = [
    'Hi {{ first_name|default:"there" }} {{ last_name }} <{{ email }}>',
    "{{ custom.city|default:first_name }} / {{ custom.missing }} / {{ nothing }} {# a comment #}!",
    '{{ first_name|default:"<b>literal</b>" }} {{ custom.n|default:3 }} {{ custom.n }}',
    "{{ unsubscribe_url }}",
    "no placeholder at all",
    "",
    # the common shapes, resolved by key (rendering._Placeholder), beside ones left to Django
    '{{ custom.city|default:""|default:"<i>second</i>" }}|{{ company|default:first_name|default:"x" }}',
    '{{ custom.n|default:0 }}{{ custom.0 }}{{ custom.ville|default:company }}{{ phone|default:"&amp;" }}',
    '{{ None|default:"none" }} {{ True }} {{ dicts }} {{ autoescape }} {{ email|default:_("kept") }}',
    '{{ "literal"|default:"x" }} {{ 12 }} {{ custom.CITY|default:"case" }} {{ custom.ville }}',
]
PEOPLE = [
    {"first_name": "Ada", "last_name": "O'Neil & Co", "email": "ada@example.com", "custom": {"city": "<London>"}},
    {"first_name": "", "custom": {"city": "", "n": 1234567}},
    {"first_name": 'Quote " and \nline', "custom": {"n": True}},
    {"company": "<Acme>", "phone": "+15551234567", "custom": {"0": "zero", "ville": "Évry", "n": 0.5}},
    {},
]


@pytest.mark.parametrize("html", [False, True])
@pytest.mark.parametrize("source", SOURCES)
def test_each_part_renders_as_django_renders_it(source, html):
    template = compile_source(source)
    for person in PEOPLE:
        context = contact_context(person, unsubscribe_url="https://x.test/u?a=1&b=2")
        context.autoescape = html
        expected = str.__str__(template.render(context))
        assert render(template, contact_context(person, unsubscribe_url="https://x.test/u?a=1&b=2"), html=html) == (
            expected
        )


# ---------------------------------------------------------------- a template's plan

PLANNED = """<!doctype html><html><head><title>{{ first_name }}</title><style>p > a { color: red }</style></head>
<body><h1>Hello {{ first_name|default:"there" }}</h1><p title="{{ first_name }}" class=x>{{ custom.city }} &amp; more</p>
<!-- a comment with <a href="https://hidden.example/"> --><img alt={{ custom.slug }} src=x.png>
<a href="https://shop.example.com/?a=1&amp;b=2" class="btn">Shop</a> {# a note #} <a href='https://x.example/p'>You</a>
<script>if (a > b) { document.write("<a href='https://js.example/'>") }</script><style>{{ custom.city }}</style>
<a href="{{ unsubscribe_url }}">Unsubscribe</a><a name=top href=https://bare.example/ download/>bare</a>
{{ custom.n }}</body></html>{{ last_name }}"""

# Each is rendered then tracked (no plan), and must come out as the planned path gives it.
UNPLANNED = [
    '<p>&{{ custom.slug }}1;</p><a href="https://x.example/">x</a>',  # "&" + "#" of a contact = "&#"
    "<p>&#</p><a href='https://x.example/'>x</a>",
    '<{{ custom.slug }} href="https://x.example/">x</a>',  # a contact's "a" would make it an anchor
    '<p>x</{{ custom.slug }}><a href="https://x.example/">x</a>',
    '<a title="{{ first_name }}" href="https://x.example/">x</a>',
    '<a {{ custom.slug }} title=t>x</a><a href="https://x.example/">y</a>',  # no href until a contact brings one
    '<p title=\'{{ first_name|default:"a" }}\'>x</p><a href="https://x.example/">x</a>',
    '<p>{{ first_name|default:"<a href=https://x.example/>" }}</p>',
    "<p{{ custom.slug }} title=x>y</p><a href='https://x.example/'>x</a>",
    '<body>x</body{{ custom.slug }}><a href="https://x.example/">x</a>',
    '<a href="{{ unsubscribe_url }}" title="{{ first_name }}">u</a><a href="https://x.example/">x</a>',
    '<a href="{{ unsubscribe_url }}" href="https://x.example/">u</a>',
    '<a href="{{ unsubscribe_url }}?x={{ first_name }}">u</a><a href="https://x.example/">x</a>',
    '<!{{ custom.slug }}- x <a href="https://x.example/">y</a> -->',  # a contact's "--" would open a comment
    '<!-- {{ first_name }} --><a href="https://x.example/">x</a>',
    '<p>a < b {{ first_name }}</p><a href="https://x.example/">x</a>',
    "<script>document.write('<a href=\"https://x.example/{{ custom.slug }}\">')</script>",
]
ODD_PEOPLE = [
    *CONTACTS,
    {"first_name": "#", "custom": {"slug": "a", "city": "#x", "n": 5}},
    {"first_name": "a href=https://evil.example/", "custom": {"slug": "a href=https://evil.example/"}},
    {"first_name": "&", "last_name": "&#", "custom": {"slug": "body", "city": "\r\n"}},
    {"first_name": "x", "custom": {"slug": "#"}},  # after a "&" of the template: "&#"
    {"first_name": "--", "custom": {"slug": "--"}},
]


def tracked_whole(source: str, contact: dict, recipient_id: int) -> str:
    html = render_source(
        source, contact_context(contact, unsubscribe_url=links.unsubscribe_url(recipient_id)), html=True
    )
    return whole_parse(html, recipient_id) if html else ""


TWO_HREFS = '<a href="https://a.example/" class="c &amp; d" href="https://b.example/" download>x</a> {{ first_name }}'


@pytest.mark.parametrize(
    "source", [PLANNED, TWO_HREFS, TEMPLATE, *UNPLANNED, "", "{{ nothing }}", "<p>{{ nothing }}</p>"]
)
def test_a_planned_or_rendered_then_tracked_part_is_what_a_whole_parse_gives(source):
    for n, contact in enumerate(ODD_PEOPLE):
        context = contact_context(contact, unsubscribe_url=links.unsubscribe_url(n))
        assert links.tracked_render(source, context, n) == tracked_whole(source, contact, n), contact


def test_the_templates_that_can_be_planned_are_planned():
    base = links._base()
    assert links._plan(PLANNED, base) is not None
    assert links._plan("<p>{{ nothing }}</p>", base) is not None
    assert links._plan(TWO_HREFS, base) is not None
    assert links._plan(TEMPLATE, base) is None  # a placeholder in an anchor's href
    assert [links._plan(source, base) for source in UNPLANNED] == [None] * len(UNPLANNED)
