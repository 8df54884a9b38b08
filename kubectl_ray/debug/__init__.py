"""`kubectl ray debug`: diagnose a Ray cluster, job or service from the Kubernetes API.

The pieces, in the order data flows through them:

* collector.py: the only part that talks to the API server. It reads everything once, with a bounded
  number of calls that does not grow with the number of pods, and records what RBAC forbade.
* snapshot.py: what was collected, as plain data; serialisable to and from a support bundle.
* rules/: one small pure function per failure mode (or tight group), registered with a stable ID
  from the catalogue in ../shared/reference/diagnostics.md; rules/engine.py runs them in the
  catalogue's evaluation order and folds consequences into their root cause.
* report.py: human and JSON output (the JSON schema is documented there).
* bundle.py: `--bundle out.tar.gz` (redacted) and `--from-bundle` (offline analysis).
* deep.py: `--deep`, what only the Ray dashboard knows.
"""
