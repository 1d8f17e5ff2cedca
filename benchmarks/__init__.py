"""Token-savings and speed benchmarks of kaizen-integrations (run with ``make bench``)."""
