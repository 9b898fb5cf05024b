"""Rendering job scripts: a sandboxed Jinja2 environment with shell quoting."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(ValueError):
    """A job-script template could not be rendered; the message names the line and why."""


def quote(value: Any) -> str:
    """Shell-quote a value for a job script; a list becomes several quoted words."""
    if value is None:
        return "''"
    if isinstance(value, (list, tuple)):
        return shlex.join(str(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return shlex.quote(str(value))


def _env_exports(env: Mapping[str, str]) -> str:
    """``export NAME=value`` lines, names checked and values quoted."""
    lines = []
    for name, value in env.items():
        if not name.isidentifier():
            raise TemplateError(f"environment variable name {name!r} is not a valid shell name")
        lines.append(f"export {name}={shlex.quote(str(value))}")
    return "\n".join(lines)


def _directive_value(value: Any) -> str:
    """A value placed after a scheduler directive: refused if it could break the line."""
    text = str(value)
    if "\n" in text or "\r" in text or "\0" in text:
        raise TemplateError(f"value {text!r} contains a line break and cannot be a directive")
    return text


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


def render(template: str, variables: Mapping[str, Any], name: str = "batch_script") -> str:
    """Render ``template`` with ``variables``; errors name the template line and the cause."""
    try:
        compiled = _ENV.from_string(template)
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


def variable_names(template: str) -> Iterable[str]:
    """The undeclared variables a template uses (for docs and checks)."""
    from jinja2 import meta

    return sorted(meta.find_undeclared_variables(_ENV.parse(template)))
