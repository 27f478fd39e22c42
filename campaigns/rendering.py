"""Placeholders in templates, rendered safely: Django's template language with everything but variables and one
filter taken away.

What a template may say: `{{ first_name }}`, `{{ last_name }}`, `{{ email }}`, `{{ phone }}`, `{{ company }}`,
`{{ custom.field_name }}`, `{{ unsubscribe_url }}`, each optionally with `|default:"fallback"` (or
`|default:other_placeholder`), and `{# comments #}`. Why that is safe:

- The engine (`_SandboxEngine`) has no loaders, no libraries and no builtins but a library holding the
  `default` filter: `{% load %}`, `{% include %}`, `{% extends %}`, `{% debug %}`, `{% csrf_token %}` … are not
  tags it knows, and every other filter is unknown. `check_source` refuses any `{% … %}` with its own message.
- The context is built here from plain data (`contact_context`): strings, and for `custom` a read-only mapping
  with no public attribute. No model instance, setting or callable is ever in it, so a name that is not a
  placeholder (`{{ settings.SECRET_KEY }}`) resolves to nothing.
- A lookup into a value (`{{ first_name.upper }}`, `{{ custom.city.title }}`) would reach Python attributes of
  `str`: `check_source` refuses it; Django's parser already refuses names starting with `_`
  (`{{ first_name.__class__ }}`).
- HTML parts render with autoescaping on (a contact's `<script>` arrives as `&lt;script&gt;`); text, SMS and
  WhatsApp parts with it off. Header-bound output (the subject) has the contact's line breaks flattened.

Parse once, render many: compiled sources are cached (`compile_source`), and `render` takes a prepared context,
so a campaign builds one context per contact and renders every part of the template with it.
"""

from __future__ import annotations

import datetime
import html as html_escaping
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Library, Template, TemplateSyntaxError
from django.template.base import (
    FilterExpression,
    Lexer,
    TextNode,
    TokenType,
    Variable,
    VariableNode,
    render_value_in_context,
)
from django.template.defaultfilters import default
from django.utils.safestring import mark_safe

# The placeholders a contact fills, beside `custom.<field>`. True/False/None are the names Django's Context
# always holds: they are values too, so a lookup into them is refused like one into first_name.
SCALARS = ("first_name", "last_name", "email", "phone", "company", "unsubscribe_url")
_CONTEXT_BUILTINS = ("True", "False", "None")
CUSTOM = "custom"
_BREAKS = re.compile(r"[\r\n]+")

_placeholders = Library()
_placeholders.filter("default", default)


class PlaceholderError(ValueError):
    """A template source the renderer refuses; `message` says why, fit to show beside the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _SandboxEngine(Engine):
    """An engine that knows no tag and only the `default` filter (Django's own, unchanged)."""

    default_builtins: list[str] = []

    def get_template_builtins(self, builtins: list[str]) -> list[Library]:
        return [_placeholders]


ENGINE = _SandboxEngine(loaders=[], libraries={}, builtins=[], debug=False, string_if_invalid="", autoescape=True)


class Fields:
    """`custom` in the context: a contact's custom field values, readable by key only. A plain dict would let
    `{{ custom.items }}` or `{{ custom.clear }}` reach its methods when the contact has no such field. A field the
    contact has no value for reads as empty, as the engine shows a missing placeholder — also where it is another
    placeholder's fallback (`{{ first_name|default:custom.nickname }}`), where Django would raise instead."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values.get(key, "")


def _lookup_error(variable: Variable) -> str | None:
    lookups = variable.lookups
    if not lookups:  # a literal: "there", 3
        return None
    root = lookups[0]
    if root == CUSTOM and len(lookups) != 2:
        return "Name one custom field: {{ custom.field_name }}."
    if root in SCALARS + _CONTEXT_BUILTINS and len(lookups) > 1:
        return f"{{{{ {'.'.join(lookups)} }}}}: {root} has no fields; write {{{{ {root} }}}}."
    return None  # any other name is not in the context: it renders as nothing


def _expression_errors(expression: FilterExpression) -> list[str]:
    variables = [expression.var] + [arg for _, args in expression.filters for is_lookup, arg in args if is_lookup]
    return [error for v in variables if isinstance(v, Variable) and (error := _lookup_error(v)) is not None]


def check_source(source: str) -> Template:
    """The compiled template of `source`. Raises PlaceholderError for a tag, an unknown filter, a placeholder
    that does not parse or a lookup into a value."""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            raise PlaceholderError(
                f"Template tags are not allowed (line {token.lineno}: {{% {token.contents[:40]} %}}); "
                'use placeholders such as {{ first_name|default:"there" }}.'
            )
    try:
        template = ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        raise PlaceholderError(f"Placeholder error: {exc}") from None
    for node in template.nodelist:
        if isinstance(node, VariableNode):
            errors = _expression_errors(node.filter_expression)
            if errors:
                raise PlaceholderError(errors[0])
    return template


@lru_cache(maxsize=1024)
def compile_source(source: str) -> Template:
    """`check_source`, cached: a campaign compiles each part of its template once per process."""
    return check_source(source)


def _plain(value: Any) -> str:
    """A contact's value as the text a template shows; anything that is not plain data shows as nothing."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | Decimal):
        text = str(value)
    elif isinstance(value, datetime.date):
        text = value.isoformat()
    else:
        return ""
    return text.replace("\x00", "")  # PostgreSQL cannot store NUL in text


def contact_context(contact: Mapping[str, Any], *, unsubscribe_url: str = "") -> Context:
    """A render context holding only `contact`'s plain values (see module docstring). `contact` is a dict:
    first_name, last_name, email, phone, company, and custom (a dict of field name → value)."""
    data: dict[str, Any] = {name: _plain(contact.get(name)) for name in SCALARS if name != "unsubscribe_url"}
    data["unsubscribe_url"] = _plain(unsubscribe_url)
    custom = contact.get(CUSTOM)
    fields = {str(k): _plain(v) for k, v in custom.items()} if isinstance(custom, Mapping) else {}
    data[CUSTOM] = Fields(fields)
    return Context(data, autoescape=False)


class _Placeholder:
    """A placeholder of the common shape, `{{ name }}` or `{{ custom.field }}` with `|default:"literal"`s, resolved
    as FilterExpression.resolve resolves it in a context of contact_context without its general machinery (a
    campaign resolves each one once per contact): the value read by key (through Fields for a custom field, so a
    field the contact lacks reads as Fields says), then each default in turn, its literal marked safe as Django
    marks it.
    Whatever the context holds otherwise goes through Django (tests/campaigns/test_fast_paths.py compares both)."""

    __slots__ = ("defaults", "expression", "field", "name")

    def __init__(self, expression: FilterExpression, name: str, field: str | None, defaults: tuple[Any, ...]):
        self.expression, self.name, self.field, self.defaults = expression, name, field, defaults

    @classmethod
    def of(cls, expression: FilterExpression) -> _Placeholder | FilterExpression:
        variable = expression.var
        lookups = variable.lookups if isinstance(variable, Variable) and not variable.translate else None
        if lookups and len(lookups) == 1 and lookups[0] in SCALARS:
            name, field = lookups[0], None
        elif lookups and len(lookups) == 2 and lookups[0] == CUSTOM:
            name, field = lookups
        else:
            return expression
        defaults = []
        for function, args in expression.filters:
            if function is not default or len(args) != 1 or args[0][0]:  # another filter, or default:placeholder
                return expression
            defaults.append(args[0][1])
        return cls(expression, name, field, tuple(defaults))

    def resolve(self, context: Context) -> Any:
        try:
            value = context[self.name]
        except KeyError:
            return self.expression.resolve(context)
        if self.field is not None:
            if value.__class__ is not Fields:
                return self.expression.resolve(context)
            value = value[self.field]
        if value.__class__ is not str:
            return self.expression.resolve(context)
        for literal in self.defaults:
            value = value or mark_safe(literal)  # noqa: S308 — the template's own literal, as Django marks it
        return value


@lru_cache(maxsize=1024)
def _parts(template: Template) -> tuple[str | _Placeholder | FilterExpression, ...] | None:
    """The template as its literal texts and placeholders, in order; None when it holds any other node (then
    Django renders it)."""
    parts: list[str | _Placeholder | FilterExpression] = []
    for node in template.nodelist:
        if isinstance(node, TextNode):
            parts.append(node.s)
        elif isinstance(node, VariableNode):
            parts.append(_Placeholder.of(node.filter_expression))
        else:
            return None
    return tuple(parts)


def _render_parts(
    template: Template, parts: tuple[str | _Placeholder | FilterExpression, ...], context: Context
) -> str:
    """What Template.render gives for a template of texts and placeholders only, without its per-node machinery
    (a campaign renders each part once per contact): each placeholder resolved by its _Placeholder (the common
    shape) or by Django (filters and all), a
    plain string escaped as render_value_in_context escapes it, anything else (a safe literal of `default`, a
    number) through render_value_in_context itself."""
    bound = context.template is None
    if bound:
        context.template = template  # resolving reads the engine's string_if_invalid through it
    try:
        out = []
        for part in parts:
            if part.__class__ is str:
                out.append(part)
                continue
            try:
                value = part.resolve(context)
            except UnicodeDecodeError:  # as VariableNode.render: nothing
                continue
            if value.__class__ is str:
                out.append(html_escaping.escape(value) if context.autoescape else value)
            else:
                out.append(str.__str__(render_value_in_context(value, context)))
        return "".join(out)
    finally:
        if bound:
            context.template = None


def render(template: Template, context: Context, *, html: bool = False, header: bool = False) -> str:
    """`template` rendered with `context` — escaped for HTML when `html`; for a header (`header`), the line
    breaks a contact's data brought in become spaces."""
    context.autoescape = html
    parts = _parts(template)
    # A plain str, never Django's SafeString: text parts keep a contact's data as typed, and whoever shows a
    # rendered part in a page must escape it like any other data.
    text = str.__str__(template.render(context)) if parts is None else _render_parts(template, parts, context)
    if header:
        text = _BREAKS.sub(" ", text)
    return text


def render_source(source: str, context: Context, *, html: bool = False, header: bool = False) -> str:
    return render(compile_source(source), context, html=html, header=header) if source else ""
