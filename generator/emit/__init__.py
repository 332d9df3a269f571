"""Emitters: pure functions from a Pod to files (compose, Kubernetes, README)."""
