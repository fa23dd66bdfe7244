"""K-means codebooks that turn features into semantic units (``audiotok.kmeans``)."""

from audiotok.kmeans.codebook import Codebook, load

__all__ = ["Codebook", "load"]
