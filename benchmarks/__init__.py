"""Benchmarks of Feedback Insights: ``python -m benchmarks`` (``make bench``; see benchmarks/README.md)."""
