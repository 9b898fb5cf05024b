"""``OptionChoices``: what a user chose for her next start, held by her spawner until then.

``apply_user_options`` (:mod:`jobspawner.choices.user_options`) validates the choice and puts it
here; the start reads it (:meth:`JobSpawner.resources`, the template's ``choices``). The
spawn form (:mod:`jobspawner.choices.options_form`) keeps here what it submitted and the refusal to
show on the form JupyterHub shows again. In memory only: the job's record keeps the chosen
profile and options (:class:`~jobspawner.lifecycle.job_record.JobRecord`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobspawner.facade.hub_compat import SpawnException


@dataclass
class OptionChoices:
    """One spawner's current choice (see the module's text)."""

    #: the user's resource values as she gave them (a site's own ``apply_user_options`` may
    #: set them: they are then normalised and checked at the start)
    resources: dict[str, Any] = field(default_factory=dict)
    #: what the validation checked: (those resources, their template variables)
    validated: tuple[dict[str, Any], dict[str, Any]] | None = None
    #: the profile's other choices, typed (the template's ``choices``)
    variables: dict[str, Any] = field(default_factory=dict)
    #: the configuration's values a profile overrode (restored before the next spawn)
    baseline: dict[str, Any] = field(default_factory=dict)
    #: the spawn form's submission (None when the options came otherwise)
    form_submission: dict[str, Any] | None = None
    #: a refusal of that submission, for the form shown again
    form_refusal: dict[str, Any] = field(default_factory=dict)

    def note_refusal(self, exc: SpawnException, submitted: Any) -> None:
        """The hub refused options the form submitted (``submitted``, None for the REST
        API and ``?opt-``): JupyterHub shows the form again at once, with this refusal's
        field marked and the submitted values kept (:func:`.options_form.options_form`
        takes it)."""
        if submitted is None or exc.reason != "user_options":
            return
        self.form_refusal = {
            "values": dict(submitted),
            "field": getattr(exc, "jobspawner_field", ""),
            "message": exc.log_message,
        }
