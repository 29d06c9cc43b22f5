"""Japanese-aware normalisation (public API assembled at the end of issue 2)."""
