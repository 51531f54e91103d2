"""The six DVC stages, one thin module each: read inputs, call pure functions, write outputs."""
