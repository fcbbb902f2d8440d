"""Database layer: table definitions, engine and transaction helpers."""
