"""scikit-learn's wine and diabetes tables as a user would bring them: the multiclass and
regression examples that the serving tests and the serving benchmark package.

Each gets a categorical column (the flights bundle has several; these tables have none),
so a packaged example exercises every kind of input a served model reads. The data ships
inside scikit-learn: nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes, load_wine


def wine_frame() -> tuple[pd.DataFrame, str, str]:
    """The wine data (3 cultivars) with text labels, plus a categorical colour band.

    Returns (frame, target column, categorical column).
    """
    data = load_wine(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["cultivar"] = [str(data.target_names[i]) for i in data.target]
    bands = pd.qcut(frame["color_intensity"], 3, labels=["light", "medium", "dark"])
    frame["colour_band"] = bands.astype(str)
    return frame, "cultivar", "colour_band"


def diabetes_frame() -> tuple[pd.DataFrame, str, str]:
    """The diabetes data (disease progression, a float target) with sex as a category.

    Returns (frame, target column, categorical column).
    """
    frame = load_diabetes(as_frame=True).frame
    frame["sex"] = np.where(frame["sex"] > 0, "sex_2", "sex_1")
    return frame, "target", "sex"
