"""The registry fixtures (an authenticated client of the session server, a repository)."""

from ..registry.conftest import registry, repo  # noqa: F401 -- fixtures, used by name
