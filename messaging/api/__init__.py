"""The XSender dialect of the messaging endpoints: wire format (wire.py), views (views.py), OpenAPI (schema.py)."""
