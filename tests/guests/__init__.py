"""Test guest kernels built from source at test time (see README.md)."""
