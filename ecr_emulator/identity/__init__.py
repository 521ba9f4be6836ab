"""Who may do what: IAM policy evaluation, identity policies, tokens and their key, pre-signed URLs, upstream credentials."""
