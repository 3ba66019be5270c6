"""Data generation and storage: procedural faces, splits and HDF5 I/O."""
