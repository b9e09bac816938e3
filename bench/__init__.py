"""Scale benchmark: `bench/run --scale county|city|province` (see docs/PERFORMANCE.md)."""
