"""HTTP plumbing below the API modules, no API of its own: ASGI types and body reading/writing
(``asgi``), the one multipart form reader (``multipart``), the hot-route shortcut around the Starlette
app (``hot_routes``), the pod-identity response headers middleware (``pod_headers``) and the draining of
bodies left unread by an early answer (``drain``).

Every layer may import :mod:`fakeai.http.asgi` (the engine's pacer writes responses with it); nothing
here imports ``fakeai.api``, ``fakeai.engine``, ``fakeai.gateway`` or ``fakeai.observability``."""
