"""Defaults shared by ``train.train``, ``audiotok kmeans train`` and the benchmark (no imports,
so the CLI can name them without loading numpy or torch)."""

NITER = 20  # Lloyd iterations at most
TOL = 1e-4  # stop once |obj[i-1] - obj[i]| < TOL * obj[i-1] (see lloyd.converged)
