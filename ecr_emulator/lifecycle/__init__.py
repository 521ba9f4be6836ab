"""Lifecycle policies without HTTP or threads: the grammar (``policy``) and what a policy does
to a repository now (``plan``). The control plane validates and previews with them; the
lifecycle feature (``features/lifecycle_runs.py``) applies them."""
