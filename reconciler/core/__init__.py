"""See reconciler/__init__.py for what this layer may import."""
