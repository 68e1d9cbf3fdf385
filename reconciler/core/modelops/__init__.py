"""Pure model-artifact logic: the build manifest, OCI media types and annotations, numeric parity, compat tables."""
