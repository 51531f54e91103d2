"""Data validation: checks of the joined table, each with a name and a default severity, and the report."""
