"""collect: each source kind (a packaged table, files, SQL, a paged HTTP API) read into a data frame."""
