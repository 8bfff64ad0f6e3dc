"""One module per API area; each exports ``routes(ctx) -> list[Route]``."""
