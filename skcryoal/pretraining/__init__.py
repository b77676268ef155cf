"""Self-supervised pretraining on unlabeled subtomograms.

:class:`SubtomogramEmbedder` trains a 3D ResNet encoder on the unlabeled pool
(SimCLR or BYOL, on views that respect the missing wedge); its embeddings feed
scikit-learn (``Pipeline``, ``PCA``, ``KMeans``, ``LogisticRegression``), the
embedding-based query strategies, and the starting weights of a
:class:`~skcryoal.classifier.CryoNetClassifier` (``encoder=embedder``).
"""

from ._embedder import SubtomogramEmbedder

__all__ = ["SubtomogramEmbedder"]
