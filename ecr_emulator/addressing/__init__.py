"""Where things are: AWS partitions, regions, ARNs and host names; ECR Public aliases and hosts."""
