"""The /api/v2 views, one module per resource."""
