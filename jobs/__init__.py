"""RQ entry points: load by id, call a service, commit. They run inside the app context
that `leadtrack worker` pushes."""
