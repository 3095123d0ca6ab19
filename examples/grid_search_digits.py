"""Grid search over a stacked DAE's noise level and width, with logistic regression on its
code, on the digits bundled with scikit-learn (offline; about a minute on 2 cores).

    python examples/grid_search_digits.py
"""

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from sdae.sklearn import SDAETransformer

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y,
                                                    random_state=0)

# the baseline gets the same care: its regularisation C is tuned by the same search
raw = GridSearchCV(Pipeline([("scale", MinMaxScaler()),
                             ("logistic", LogisticRegression(max_iter=5000))]),
                   {"logistic__C": [0.1, 1, 10, 100]}, cv=3)
raw.fit(x_train, y_train)

pipe = Pipeline([
    ("scale", MinMaxScaler()),  # the DAE's sigmoid decoder wants inputs in [0, 1]
    ("sdae", SDAETransformer(lr=3e-3, epochs=50, random_state=0)),
    ("logistic", LogisticRegression(C=10, max_iter=5000)),
])
grid = GridSearchCV(pipe, {"sdae__noise_levels": [0.0, 0.25, 0.5],
                           "sdae__hidden_sizes": [(256,), (512,)]}, cv=3)
grid.fit(x_train, y_train)

for params, mean, std in zip(grid.cv_results_["params"], grid.cv_results_["mean_test_score"],
                             grid.cv_results_["std_test_score"], strict=True):
    print(f"  {params}: cross-validated accuracy {mean:.4f} ± {std:.4f}")
print(f"best: {grid.best_params_}")
print(f"test accuracy, logistic regression on raw pixels (C={raw.best_params_['logistic__C']}):"
      f" {raw.score(x_test, y_test):.4f}")
print(f"test accuracy, logistic regression on the best SDAE code:     "
      f"{grid.score(x_test, y_test):.4f}")
