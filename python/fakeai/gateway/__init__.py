"""Gateway-testing controls: API keys, rate limits, error and chaos injection, per-request overrides,
CORS and the scenario file. :func:`fakeai.gateway.middleware.middleware` assembles them for the app."""
