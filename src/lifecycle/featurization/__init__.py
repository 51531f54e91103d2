"""featurize: the feature pipeline (fitted on the train split only) that turns raw columns into the model matrix."""
