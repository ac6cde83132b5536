"""Simulated Guru and Gusto APIs for tests, the demo and the benchmark. Never shipped in the Lambda layer."""
