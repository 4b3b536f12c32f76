"""Leaked identifiers: reading leak files and NIR normalisation (:mod:`labforensics.leak.nir`)."""
