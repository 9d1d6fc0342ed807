"""The secret key of publication mode: making, reading and finding it.

Published counts are randomly rounded to base 3 by a draw that depends on a secret key
(``docs/disclosure.md``). Whoever holds the key and the data can reproduce a release
exactly; a reader without it cannot tell which way a count was rounded. A key file is
text: comment lines starting with ``#`` and one line ``key: <64 hex digits>`` (256 bits).

The key comes from ``--key-file FILE``; when that is not given, from the file named by the
environment variable ``HSP_EVAL_KEY_FILE``; else from ``disclosure.key`` in the data folder
(where the demo's key, marked as not secret, lives). Disclosure control v2's publication mode
(issue 17, in progress: ``docs/disclosure.md``) draws its rounding from this key and refuses to
run without one; ``hsp-eval key new FILE`` makes a key today.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "release.key"
>>> _ = new_key_file(path)
>>> len(read_key(path))
32
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV_VAR = "HSP_EVAL_KEY_FILE"
KEY_BYTES = 32


class KeyProblem(ValueError):
    """No usable key: the message says how to make one."""


HOW_TO_MAKE = (f"Make one with 'hsp-eval key new FILE' (keep FILE secret and keep it: the same key gives "
               f"the same published counts), then pass '--key-file FILE' or set {ENV_VAR}=FILE.")


def new_key_file(path, note: str = "") -> Path:
    """Write a new random key to ``path`` (never over an existing file) and return the path."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists: a key is never overwritten (it would change every "
                              "published count); choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# hsp_eval publication key: keep this file secret and keep it.",
             "# Counts published with it are rounded to base 3 by draws only this key reproduces."]
    if note:
        lines += [f"# {line}" for line in note.splitlines()]
    lines.append(f"key: {secrets.token_hex(KEY_BYTES)}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def read_key(path) -> bytes:
    """The 32-byte key in the key file at ``path`` (a plain error when it is missing or malformed)."""
    path = Path(path)
    if not path.is_file():
        raise KeyProblem(f"the key file {path} does not exist. {HOW_TO_MAKE}")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(":")
        value = value.strip()
        if name.strip() != "key" or len(value) != 2 * KEY_BYTES:
            break
        try:
            return bytes.fromhex(value)
        except ValueError:
            break
    raise KeyProblem(f"{path} is not a key file: it needs a line 'key: ' followed by 64 hexadecimal digits. "
                    f"{HOW_TO_MAKE}")


DATA_KEY_NAME = "disclosure.key"


def key_path(key_file=None, data_dir=None) -> Path | None:
    """Where the key is: ``key_file``, else the file named by ``HSP_EVAL_KEY_FILE``, else
    ``<data_dir>/disclosure.key`` when there is one (the demo's key lives with the demo data); None."""
    if key_file is not None:
        return Path(key_file)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    if data_dir is not None and (Path(data_dir) / DATA_KEY_NAME).is_file():
        return Path(data_dir) / DATA_KEY_NAME
    return None


def find_key(key_file=None, data_dir=None) -> bytes:
    """The key of :func:`key_path`; a plain error saying how to make one when there is none."""
    path = key_path(key_file, data_dir)
    if path is None:
        raise KeyProblem("publication needs a secret key, and none was given. " + HOW_TO_MAKE)
    return read_key(path)
