"""Benchmarks: one epoch of MNIST MLP training in several implementations (see README.md)."""
