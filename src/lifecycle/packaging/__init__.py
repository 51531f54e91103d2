"""package: the hash-verified bundle, its input schema, lineage and model card, and batch prediction."""
