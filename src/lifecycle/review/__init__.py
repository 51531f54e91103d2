"""The pull-request review: two revisions' metrics, params and plots compared, and the gate."""
