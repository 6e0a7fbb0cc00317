"""``python -m neuralfx``: the same as the ``neuralfx`` command."""

from .cli import app

if __name__ == "__main__":
    app(prog_name="neuralfx")
