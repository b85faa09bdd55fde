"""Load and scale benchmarks (not tests); see README.md."""
