"""The domain. Plain functions that take a session, an actor and `now`; no request, no rq."""
