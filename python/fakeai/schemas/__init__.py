"""Request schemas (msgspec Structs), one module per API area."""
