"""scikit-learn estimators over the library: drop a DAE or a stack into a ``Pipeline``.

Each estimator is a thin face: ``fit`` validates its parameters and input the scikit-learn
way, builds the PyTorch model of :mod:`sdae.core.autoencoder` or :mod:`sdae.core.stacking`
(or runs :mod:`sdae.tasks.imputation`, :mod:`sdae.tasks.outliers` or
:mod:`sdae.tasks.clustering`) and trains it with the library's one training loop; the
fitted module is ``model_``. One estimator per private module, as scikit-learn does.
"""

from ._dae_imputer import DAEImputer
from ._dae_transformer import DAETransformer
from ._outlier_detector import DAEOutlierDetector
from ._sdae_classifier import SDAEClassifier
from ._sdae_clustering import SDAEClustering
from ._sdae_transformer import SDAETransformer

__all__ = ["DAEImputer", "DAEOutlierDetector", "DAETransformer", "SDAEClassifier",
           "SDAEClustering", "SDAETransformer"]
