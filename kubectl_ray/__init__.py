"""kubectl-ray: a kubectl plugin for Ray on Kubernetes (KubeRay)."""

__version__ = "0.1.0"
