"""Talking to a Ray cluster's dashboard over plain HTTP, without importing Ray.

- dashboard.py: `DashboardClient`, the Jobs API, package upload and the read endpoints
  (`version`, `gcs_healthz`, `cluster_status`, `nodes`) that `kubectl ray debug` reuses.
- packaging.py: working_dir / py_modules packages named and zipped exactly as Ray does.
- logtail.py: follow a job's logs over the dashboard's WebSocket, with a polling fallback.

Nothing in this package may import `ray`: users of the plugin do not need Ray installed
(a test checks it).
"""
