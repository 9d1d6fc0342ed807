"""The package's version, in a module of its own so that every layer can read it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hsp_eval")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.1.0"
