"""A site plugin: adds a directive to every job script and maps hosts to another network."""

from jobspawner import hookimpl


@hookimpl(wrapper=True)
def render_script(spec, template):
    script = yield
    first, rest = script.split("\n", 1)
    return f"{first}\n# SITE: licence=jupyter user={spec.username}\n{rest}"


@hookimpl(tryfirst=True)
def get_host(status):
    return f"{status.host}.ib.example.org" if status.host else None
