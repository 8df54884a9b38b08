"""Pure builders and value types: options in, Kubernetes objects (dicts) out. No I/O here."""
