"""Serving runtime: sessions, frame-rate conversion and cross-session batching."""
