"""sidecar-new: scaffold a service's compose.yaml, Kubernetes base and sidecar configs."""

__version__ = "0.1.0"
