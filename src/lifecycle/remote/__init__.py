"""Sharing data and the run cache: the DVC remote on S3, a check that says why it fails, and
an S3 server on 127.0.0.1 for a laptop, the tests and CI."""
