"""Persistence shared by every worker process of one server."""
