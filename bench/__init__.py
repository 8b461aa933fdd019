"""Benchmarks (not tests). Each module runs with `.venv/bin/python -m bench.<name>`; figures go
to docs/benchmarks.md with the command, machine and date."""
