"""Benchmarks: program cost as users grow, critical path, determinism, gateway overhead."""
