"""Rendering job scripts: a sandboxed Jinja2 environment with shell quoting."""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(ValueError):
    """A job-script template could not be rendered; the message names the line and why."""


#: Characters that end a line for some reader of a job script (Python's ``splitlines``,
#: shells, scheduler directive parsers) plus NUL: no value may carry one into a script,
#: whatever its caller validated.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\0")
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _one_line(value: Any, what: str = "value") -> str:
    """``str(value)``, refused with a :class:`TemplateError` naming it if it breaks a line."""
    text = str(value)
    if not LINE_BREAKS.isdisjoint(text):
        found = sorted({c for c in text if c in LINE_BREAKS})
        raise TemplateError(
            f"{what} {text[:80]!r} contains a line break or NUL ({', '.join(map(repr, found))})"
            " and cannot be written into a job script"
        )
    return text


def quote(value: Any) -> str:
    """Shell-quote a value for a job script; a list becomes several quoted words.

    Refuses (:class:`TemplateError`) any value holding a line terminator or NUL: quoting
    makes a value one shell word, but a scheduler reads its directive lines line by line.
    """
    if value is None:
        return "''"
    if isinstance(value, (list, tuple)):
        return shlex.join(_one_line(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return shlex.quote(_one_line(value))


def _env_exports(env: Mapping[str, str]) -> str:
    """``export NAME=value`` lines, names checked (ASCII shell names) and values quoted."""
    lines = []
    for name, value in env.items():
        if not _SHELL_NAME.fullmatch(str(name)):
            raise TemplateError(f"environment variable name {name!r} is not a valid shell name")
        text = _one_line(value, what=f"environment variable {name}'s value")
        lines.append(f"export {name}={shlex.quote(text)}")
    return "\n".join(lines)


def _directive_value(value: Any) -> str:
    """A value placed after a scheduler directive: refused if it could break the line."""
    return _one_line(value, what="directive value")


#: The part of every job script after the scheduler's directives: working folder, the
#: server's environment, the prologue, the server (with an optional ``launcher`` such as
#: ``srun ...`` set by the template), and the epilogue, which runs also when the job is
#: cancelled (SIGTERM goes to the server, the script waits for it, then runs the epilogue).
#: Templates use it with ``{% include "jobspawner/job_body.sh" %}``.
JOB_BODY = """\
cd {{ workdir | quote }}
{% if env %}
{{ env | exports }}
{% endif %}
{% if prologue %}
{{ prologue }}
{% endif %}
{% set run = ((launcher ~ " ") if launcher is defined and launcher else "") ~ (command | quote) %}
{% if epilogue %}
{{ run }} &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT HUP
rc=0; wait "$server" || rc=$?
while kill -0 "$server" 2>/dev/null; do rc=0; wait "$server" || rc=$?; done
trap - TERM INT HUP
{{ epilogue }}
exit $rc
{% else %}
exec {{ run }}
{% endif %}
"""


def make_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.DictLoader({"jobspawner/job_body.sh": JOB_BODY}),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["quote"] = quote
    env.filters["exports"] = _env_exports
    env.filters["directive"] = _directive_value
    return env


_ENV = make_environment()


@functools.lru_cache(maxsize=64)
def _compile(template: str) -> jinja2.Template:
    """A compiled template (compiling costs ~30 ms; a hub renders the same few templates)."""
    return _ENV.from_string(template)


def render(template: str, variables: Mapping[str, Any], name: str = "batch_script") -> str:
    """Render ``template`` with ``variables``; errors name the template line and the cause."""
    try:
        compiled = _compile(template)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{name} line {e.lineno}: syntax error: {e.message}") from e
    try:
        return compiled.render(**variables)
    except jinja2.UndefinedError as e:
        raise TemplateError(
            f"{name} line {_error_line(e)}: {e.message}. Known variables: "
            f"{', '.join(sorted(variables))}"
        ) from e
    except TemplateError as e:
        raise TemplateError(f"{name} line {_error_line(e)}: {e}") from e
    except jinja2.TemplateError as e:
        raise TemplateError(f"{name} line {_error_line(e)}: {e}") from e


def _error_line(exc: BaseException) -> str:
    """The template line of an exception raised while rendering (from the traceback)."""
    tb = exc.__traceback__
    line: int | None = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return str(line) if line is not None else "?"
