"""Throughput and scaling measurements; run each as `python -m benchmarks.<name>`."""
