"""The spawn form: profiles, their options, and the live view of the cluster's queues.

:func:`options_form` renders the HTML JupyterHub puts inside its spawn page's ``<form>``
(Bootstrap 5 classes, a label for every field, usable with the keyboard and on a phone).
Each profile's fields are named ``<slug>--<option>``; :func:`options_from_form` keeps the
chosen profile's fields under their plain names, so the form, ``?opt-`` and the REST API
hand the validator (:mod:`jobspawner.choices.user_options`) the same shape. The live view comes
from :mod:`jobspawner.choices.resource_cache` and never makes the page wait longer than
``c.JobSpawner.options_form_wait``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import jinja2
import markupsafe

from jobspawner.choices.html_pattern import html_pattern
from jobspawner.choices.live_view import resource_cache
from jobspawner.choices.option_choices import OptionChoices
from jobspawner.choices.overridden import overridden
from jobspawner.choices.plain_values import plain
from jobspawner.choices.profiles import SLUG, Option, Profile, default_profile
from jobspawner.choices.resource_cache import Snapshot
from jobspawner.choices.user_options import legacy_label, regex_words, show_bound, visible_profiles
from jobspawner.contract.resources import FIELDS, format_hms
from jobspawner.contract.status import QueueInfo

if TYPE_CHECKING:
    from jobspawner.choices.options_host import FormHost, RelaunchHost

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("jobspawner", "web"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)

#: The input type of each kind of resource.
_INPUTS = {
    "count": "number", "gpus": "number", "memory": "text", "duration": "text", "name": "text",
    "token": "text", "expr": "text",
}  # fmt: skip


# --- the live view --------------------------------------------------------------------------


async def _snapshot_for(host: FormHost, overrides: Mapping[str, Any]) -> Snapshot | None:
    try:
        with overridden(host, overrides):
            cache = resource_cache(host)
    except Exception as e:
        host.log.warning("jobspawner: no live resource view: %s", e)
        return None
    return await cache.wait(host.options_form_wait)


# --- rendering ------------------------------------------------------------------------------


def _queue_row(q: QueueInfo) -> dict[str, Any]:
    return {
        "name": q.name,
        "default": q.default,
        "state": q.state or "",
        "max_time": format_hms(q.max_time_s) if q.max_time_s else "",
        "max_time_s": q.max_time_s,
        "cpus_per_node": q.cpus_per_node,
        "memory_per_node_mb": q.memory_per_node_mb,
        "memory": f"{q.memory_per_node_mb / 1024:.0f}G" if q.memory_per_node_mb else "",
        "gpus_per_node": q.gpus_per_node,
        "gres": q.gres or "",
        "idle_cpus": q.idle_cpus,
        "total_cpus": q.total_cpus,
        "nodes": q.nodes,
    }


def _default_text(host: FormHost, option: Option, overrides: Mapping[str, Any]) -> str:
    """What a field left empty means: the option's default, else the profile's or the
    configuration's ``req_<resource>`` as the admin wrote it (``8h``); empty when none."""
    if option.default is not None:
        return str(option.default)
    if option.resource:
        value = overrides.get(f"req_{option.resource}", getattr(host, f"req_{option.resource}"))
        if value is not None and value != "":
            return str(value)
    return ""


def _field(
    profile_slug: str,
    option: Option,
    chosen: Mapping[str, Any],
    default_text: str,
    refusal: Mapping[str, Any],
) -> dict[str, Any]:
    """One field's template data; ``refusal``: the hub's refusal of this very field."""

    name = f"{profile_slug}--{option.name}" if profile_slug else option.name
    value = chosen.get(option.name, option.default)
    kind = FIELDS[option.resource].kind if option.resource else option.kind
    input_type = _INPUTS.get(kind, "number" if kind in ("int", "float") else "text")
    hints = []
    if option.minimum is not None:
        hints.append(f"at least {show_bound(option, option.minimum)}")
    if option.maximum is not None:
        hints.append(f"at most {show_bound(option, option.maximum)}")
    if option.regex:
        hints.append(regex_words(option))
    numeric_bounds = input_type == "number"

    def number(bound: Any) -> Any:
        return int(bound) if isinstance(bound, float) and bound.is_integer() else bound

    return {
        "id": re.sub(r"[^a-z0-9_-]", "-", name),
        "name": name,
        "label": option.display_name,
        "help": option.help,
        "choices": [(c.key, c.display_name) for c in option.choices],
        "value": "" if value is None else str(value),
        "input_type": input_type,
        "placeholder": default_text if option.free else "",
        "min": number(option.minimum) if numeric_bounds else None,
        "max": number(option.maximum) if numeric_bounds else None,
        "step": "any" if kind == "float" else None,
        "pattern": html_pattern(option.regex),
        "title": option.validation_message if option.regex else "",
        "resource": option.resource or "",
        "hint": ", ".join(hints),
        "error": refusal.get("message", "") if refusal.get("field") == option.name else "",
    }


def _legacy_options(host: FormHost) -> list[Option]:
    """Without profiles: a free input for each resource in ``user_options_allowed``."""

    return [
        Option(name=key, display_name=legacy_label(key), resource=key)
        for key in host.user_options_allowed
        if key in FIELDS
    ]


def relaunch_url(host: RelaunchHost, options: Mapping[str, Any]) -> str:
    """``/hub/spawn/<user>[/<server>]?opt-...``: start again with the same options."""
    base = str(getattr(host.hub, "base_url", "/hub/"))
    path = f"{base}spawn/{quote(host.user.name, safe='')}"
    if host.name:
        path += f"/{quote(host.name, safe='')}"
    query = urlencode({f"opt-{k}": str(v) for k, v in options.items()})
    return f"{path}?{query}" if query else path


async def options_form(host: FormHost) -> str:
    """The HTML of the spawn form (JobSpawner's default ``options_form``).

    It preselects the options of the last start whose server came up
    (:mod:`jobspawner.lifecycle.started_options`), never a refused choice, or those of a job kept
    from a start a hub restart interrupted (launching them resumes that job,
    :mod:`jobspawner.lifecycle.interrupted_start`); only the form JupyterHub shows again right after
    refusing a submission keeps what was submitted, with the refused field marked
    (``aria-invalid`` and its message).
    """

    profiles: list[Profile] = await visible_profiles(host)
    refusal, host.choices.form_refusal = host.choices.form_refusal, {}  # this page only
    # the kept job's options (the same ones adopt it), else the last start that came up
    last = host.record.repeat_options()
    previous = plain(refusal["values"]) if refusal else last
    sections: list[tuple[Profile | None, tuple[Option, ...], dict[str, Any], str, dict[str, Any]]]
    sections = []
    if profiles:
        chosen_slug = previous.get("profile")
        if chosen_slug not in {p.slug for p in profiles}:
            default = default_profile(profiles)
            chosen_slug = default.slug if default else None
        for p in profiles:
            mine = previous if p.slug == chosen_slug else {}
            sections.append((p, p.options, mine, p.slug, dict(p.overrides)))
    else:
        sections.append((None, tuple(_legacy_options(host)), previous, "", {}))
        chosen_slug = ""
    # every profile's live view at once: the page waits for the slowest, not their sum
    snapshots = await asyncio.gather(*(_snapshot_for(host, s[4]) for s in sections))
    rendered = []
    for section, snapshot in zip(sections, snapshots, strict=True):
        profile, options, mine, slug, overrides = section
        queues = [_queue_row(q) for q in (snapshot.queues or ())] if snapshot else []
        rendered.append(
            {
                "slug": slug,
                "display_name": profile.display_name if profile else "",
                "description": markupsafe.Markup(profile.description) if profile else "",
                "checked": slug == chosen_slug,
                "fields": [
                    _field(
                        slug,
                        o,
                        mine,
                        _default_text(host, o, overrides),
                        refusal if slug == chosen_slug else {},
                    )
                    for o in options
                ],
                "live": snapshot is not None and snapshot.available,
                "live_error": (snapshot.error if snapshot else "this backend did not load"),
                "age_s": round(snapshot.age_s) if snapshot and snapshot.age_s else 0,
                "queues": queues,
                "limits_json": json.dumps({q["name"]: q for q in queues}),
            }
        )
    return _ENV.get_template("options_form.html").render(
        profiles=rendered,
        has_profiles=bool(profiles),
        relaunch=relaunch_url(host, last) if last else "",
        sessions_url=f"{getattr(host.hub, 'base_url', '/hub/')}jobspawner/sessions",
    )


def options_from_form(form_data: Mapping[str, Any], spawner: Any = None) -> dict[str, Any]:
    """Form fields as user options: the chosen profile's fields under their plain names.

    One-element lists become plain values (JupyterHub stores these as the user's last
    choice); anything else is passed on for the validator to refuse with the field's name.
    """

    def unwrapped(value: Any) -> Any:
        return value[0] if isinstance(value, list) and len(value) == 1 else value

    data = {k: unwrapped(v) for k, v in form_data.items() if k != "_xsrf"}
    slug = data.get("profile")
    out: dict[str, Any] = {}
    for key, value in data.items():
        prefix, sep, name = key.partition("--")
        if sep and SLUG.fullmatch(prefix):
            if prefix == slug:
                out[name] = value
            continue  # another profile's field
        out[key] = value
    choices = getattr(spawner, "choices", None)
    if isinstance(choices, OptionChoices):
        choices.form_submission = dict(out)  # a refusal of these shows this form again
    return out
