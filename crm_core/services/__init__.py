"""Use cases, one module per aggregate; each runs in one transaction and checks rights."""
