"""Marshmallow schemas for request bodies, per microversion where they differ."""
