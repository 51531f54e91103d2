"""preprocess: join the sources, add context features, infer the task and column roles, derive the
target and split train from test, before anything is fitted."""
