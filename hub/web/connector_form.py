"""The connector card form, generated from the kind's settings and secrets models (issue 23).

Every field of the pydantic models becomes one typed input: a checkbox for a boolean, a number
for an int or float (with the model's bounds), a select list for a ``Literal`` or an ``Enum``, a
write-only password box for a secret, text otherwise. The label is the field's name in plain
words; its description is the help shown under it. The template renders the list with one macro
(``_form.html``'s ``setting_field``), whatever the kind.
"""

from __future__ import annotations

import enum
import types
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from connectors.registry import KINDS, connector_class
from hub.web import form_errors

SETTING, SECRET = "setting__", "secret__"
_WORDS = {"id": "ID", "url": "URL", "api": "API", "ca": "CA", "ipn": "IPN", "bc": "BC", "psa": "PSA", "erp": "ERP"}


@dataclass(frozen=True)
class FormField:
    """One input of the card form."""

    name: str  # the input's name: setting__<field> or secret__<field>
    key: str  # the model's field
    label: str
    help: str
    widget: str  # text, number, checkbox, select or password
    required: bool
    value: Any = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label) of a select
    step: str = "1"
    min: str | None = None  # a number's bounds, as the input's min/max
    max: str | None = None
    find: str | None = None  # a "Find …" button: the system lists this field's values


def plain_label(name: str) -> str:
    """``tenant_id`` → "Tenant ID"; ``api_url`` → "API URL"."""
    words = [_WORDS.get(w, w) for w in name.split("_")]
    first = words[0] if words[0].isupper() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def kind_options() -> list[tuple[str, str]]:
    """Every kind as (id, the system's name), for the "Add connector" list."""
    return [(kind, connector_class(kind).title) for kind in KINDS]


def _bare(annotation: Any) -> Any:
    """``X | None`` → ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _choices(annotation: Any) -> list[tuple[str, str]] | None:
    if get_origin(annotation) is Literal:
        return [(str(v), str(v)) for v in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [(str(m.value), str(m.value)) for m in annotation]
    return None


def _bounds(info: FieldInfo) -> tuple[str | None, str | None]:
    """The model's inclusive bounds (``ge``/``le``); an exclusive one is left to the model's check."""
    low = high = None
    for item in info.metadata:
        if isinstance(item, Ge):
            low = f"{float(item.ge):g}"  # type: ignore[arg-type]
        if isinstance(item, Le):
            high = f"{float(item.le):g}"  # type: ignore[arg-type]
    return low, high


def _setting(name: str, info: FieldInfo, value: Any, find: str | None) -> FormField:
    annotation = _bare(info.annotation)
    base = FormField(name=SETTING + name, key=name, label=plain_label(name), help=info.description or "",
                     widget="text", required=info.is_required(), value="" if value is None else value, find=find)
    if annotation is bool:
        return replace(base, widget="checkbox", value=bool(value))
    options = _choices(annotation)
    if options is not None:
        return replace(base, widget="select", value="" if value is None else str(value), options=options)
    if annotation in (int, float):
        low, high = _bounds(info)
        if isinstance(value, float) and value.is_integer():
            base = replace(base, value=int(value))  # 24, not 24.0
        return replace(base, widget="number", step="1" if annotation is int else "any", min=low, max=high)
    return base


def model_fields(model: type[BaseModel], current: dict[str, Any] | None = None,
                 discoverable: dict[str, str] | None = None) -> list[FormField]:
    """A settings model's fields as form inputs holding ``current``'s values (or the defaults)."""
    out = []
    for name, info in model.model_fields.items():
        default = None if info.is_required() else info.default
        out.append(_setting(name, info, (current or {}).get(name, default), (discoverable or {}).get(name)))
    return out


def fields(kind: str, current: dict[str, Any] | None = None) -> list[FormField]:
    """The kind's settings and secrets as form inputs holding the card's values (or the defaults), in the
    order the CLI asks for them (the secrets before the settings the system lists with them)."""
    cls = connector_class(kind)
    settings = {f.key: f for f in model_fields(cls.settings_model, current, cls.discoverable)}
    secrets = [FormField(name=SECRET + name, key=name, label=plain_label(name), help=info.description or "",
                         widget="password", required=current is None)
               for name, info in cls.secrets_model.model_fields.items()]
    out: list[FormField] = []
    for name in cls.setting_order():
        out += secrets if name == "secrets" else [settings[name]]
    return out


def submitted(form: Any) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """Settings, secrets and the other fields of a posted card form. A blank setting is left out
    (its default, or the card's value, stays); a blank secret is left out (the stored one is kept);
    an unticked checkbox is ``False``."""
    settings: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    other: dict[str, str] = {}
    for key, value in form.items():  # a repeated name (checkbox after its hidden twin): the last wins
        if not isinstance(value, str):
            continue
        if key.startswith(SETTING):
            if value.strip():  # "false" of an unticked box: the model reads it as False
                settings[key[len(SETTING):]] = value
        elif key.startswith(SECRET):
            if value:
                secrets[key[len(SECRET):]] = value
        else:
            other[key] = value
    return settings, secrets, other


def problems(model: type[BaseModel], values: dict[str, Any]) -> dict[str, str]:
    """Each setting's problem in plain words, by its input's name (``setting__page_size``); a
    problem of the whole card (an http URL on a card that is not a sandbox) under ``""``."""
    try:
        model.model_validate(values)
    except ValidationError as exc:
        found: dict[str, str] = {}
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ())]
            key = SETTING + loc[0] if loc else ""
            found.setdefault(key, form_errors.plain(error))
        return found
    return {}
