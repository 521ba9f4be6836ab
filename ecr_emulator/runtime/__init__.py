"""The process runtime: the CLI, the server adapter, TLS, the admin endpoints, the credential helper."""
