"""The package version, in a module of its own (no imports) so that any floor of the package
can read it without importing the package's ``__init__`` (which re-exports the upper floors)."""

__version__ = "0.1.0"
