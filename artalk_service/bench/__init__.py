"""Benchmarks: `artalk-bench` (offline speed, live latency, concurrent real-time streams)."""
