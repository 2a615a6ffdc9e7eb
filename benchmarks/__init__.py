"""Benchmarks of Feedback Insights: ``python -m benchmarks.run`` (see benchmarks/README.md)."""
