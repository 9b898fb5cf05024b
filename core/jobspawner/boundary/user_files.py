"""Creating a file on a user's behalf: the one way, as the user, in a folder only she can write.

Every file the hub has made for a user (a job's output file, its secrets file, a job script a
backend writes, the server's internal certificates) is made by :func:`create_command`: one
fixed ``sh`` script, run as the user through her exec prefix (and, with the SSH transport, on
the login node, where only POSIX ``sh`` and coreutils are assumed), with the folder, the name
and the mode as arguments and the content on standard input; no value is ever part of the
script. The script:

1. refuses a folder that is a symbolic link, creates a missing one (0700), enters it
   (``cd -P``: from then on it works in that very folder, whatever happens to the path
   above it) and refuses it unless the user owns it; then makes it private (0700), so
   nobody else can add, replace or remove a name in it;
2. creates a new file under a random name (``mktemp``: ``O_CREAT|O_EXCL``, 0600), writes
   the content into it and gives it its mode (removed again if either fails);
3. links it under the wanted name (``ln``: ``link(2)`` never follows or replaces an existing
   name, be it a file, a FIFO, a device or a link), removes the random name, and checks that
   the result is a regular file of the user's and not a link.

A refused folder exits with :data:`FOLDER_REFUSED`, a name that exists with
:data:`NAME_TAKEN`; :func:`check` turns either into :class:`UserFileError`, whose message
names the setting that chose the path and how to fix it. Either way nothing is left behind.
"""

from __future__ import annotations

import posixpath
import re

from jobspawner.contract.commands import Command, CommandError, CommandResult

#: Exit status of :data:`CREATE_SCRIPT` for a folder that is a link or not the user's own.
FOLDER_REFUSED = 3
#: Exit status of :data:`CREATE_SCRIPT` for a name that exists already.
NAME_TAKEN = 4
#: The modes a created file may get: private data, or a private executable (a job script).
MODES = ("600", "700")
#: What a file name must look like (no slash, no leading dash; the sudoers rules match it).
NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}")

#: ``$1`` the folder (absolute), ``$2`` the file's name, ``$3`` its mode; content on stdin.
CREATE_SCRIPT = (
    'umask 077; if [ -h "$1" ]; then exit 3; fi; '
    'mkdir -p -- "$1" && cd -P -- "$1" || exit 1; '
    "if [ ! -O . ]; then exit 3; fi; chmod 700 . || exit 3; "
    'if [ -e "$2" ] || [ -h "$2" ]; then exit 4; fi; '
    "t=$(mktemp .jobspawner-new.XXXXXXXXXX) || exit 1; "
    'if ! cat > "$t" || ! chmod "$3" "$t"; then rm -f "$t"; exit 1; fi; '
    'if ! ln "$t" "$2"; then rm -f "$t"; exit 4; fi; rm -f "$t"; '
    '[ -f "$2" ] && [ ! -h "$2" ] && [ -O "$2" ] || exit 4'
)
#: ``argv[0]`` of the script (what ``ps`` shows as its name).
SCRIPT_NAME = "jobspawner-create"


#: sudo's regular expressions for the arguments (sudo >= 1.9.10): an absolute path of plain
#: characters, a file name, a mode.
SUDO_ARGS = r"/[A-Za-z0-9._/-]+ [A-Za-z0-9_.][A-Za-z0-9_.-]* [67]00"


def sudoers_command(sh: str = "/usr/bin/sh") -> str:
    """The sudoers command (for a ``Cmnd_Alias``) that allows :data:`CREATE_SCRIPT` and
    nothing else: the script matched character for character (regular-expression and
    sudoers special characters escaped), then :data:`SUDO_ARGS`."""
    script = "".join(f"\\{c}" if c in ".[]()*+?{}|^$\\,:=" else c for c in CREATE_SCRIPT)
    return f"{sh} ^-c {script} {SCRIPT_NAME} {SUDO_ARGS}$"


class UserFileError(CommandError):
    """A file could not be created for the user: her folder is not hers alone, or the name
    is taken. The message says which path, which setting chose it and how to fix it."""

    def _message(self) -> str:
        said = self.stderr.strip()
        return f"{self.problem}" + (f" (the command said: {said[-500:]})" if said else "")


def create_command(path: str, content: str = "", mode: str = "600") -> Command:
    """The command that creates ``path`` as the user, new, with ``content`` and ``mode``.

    ``path`` must be absolute; its folder is created (0700) when missing and made private
    when it is the user's. ``ValueError`` for a path or mode the script does not take.
    """
    folder, name = posixpath.split(path)
    plain = NAME.fullmatch(name) and name not in (".", "..")
    if not posixpath.isabs(path) or not folder or not plain or "\n" in folder:
        raise ValueError(f"cannot create {path!r} for a user: not an absolute path to a file")
    if mode not in MODES:
        raise ValueError(f"cannot create {path!r} with mode {mode!r} (only {', '.join(MODES)})")
    return Command(["sh", "-c", CREATE_SCRIPT, SCRIPT_NAME, folder, name, mode], stdin=content)


def created_path(command: Command) -> str:
    """The path a :func:`create_command` command creates."""
    return posixpath.join(command.argv[4], command.argv[5])


def is_create(command: Command) -> bool:
    """Whether ``command`` is one made by :func:`create_command`."""
    return command.argv[:4] == ("sh", "-c", CREATE_SCRIPT, SCRIPT_NAME)


def folder_refused_words(path: str, folder: str, setting: str) -> str:
    """Why a file was not created in a folder that is a link or not the user's own."""
    return (
        f"refused to create {path}: its folder {folder} is a symbolic link or is not "
        f"owned by the user, so others could read or replace the files the hub "
        f"writes there (the server's API token among them). Set {setting} to a "
        "folder each user owns, e.g. a subfolder named after the user "
        "('/scratch/logs/{username}'), or remove that folder so it is created again"
    )


def name_taken_words(path: str, setting: str) -> str:
    """Why a file was not created under a name that exists already."""
    return (
        f"refused to create {path}: something exists under that name already; "
        f"nothing was written. Remove it, or check what else writes into {setting}"
    )


def check(result: CommandResult, setting: str) -> None:
    """Raise for a failed command: :class:`UserFileError` (naming ``setting``, the option
    that chose the path) when a :func:`create_command` refused, else :class:`CommandError`."""
    if result.ok:
        return
    command = result.command
    if is_create(command) and result.returncode in (FOLDER_REFUSED, NAME_TAKEN):
        path = created_path(command)
        folder = posixpath.dirname(path)
        if result.returncode == FOLDER_REFUSED:
            problem = folder_refused_words(path, folder, setting)
        else:
            problem = name_taken_words(path, setting)
        raise UserFileError(command, result.returncode, result.stdout, result.stderr, problem)
    raise CommandError.from_result(result)
