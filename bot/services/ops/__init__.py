"""Running paperbot: backups with retention, the heartbeat, status and metrics figures (``health``),
``paperbot doctor``'s checks (``doctor``, ``doctor_endpoints``) and the Markdown vault export (``export``)."""
