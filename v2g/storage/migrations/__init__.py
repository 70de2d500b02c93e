"""Versioned schema migrations: ``NNNN_name.sql`` files applied in order (``v2g db upgrade``)."""
