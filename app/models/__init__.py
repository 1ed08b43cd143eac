"""Pydantic schemas, one module per resource."""
