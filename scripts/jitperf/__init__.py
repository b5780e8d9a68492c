"""jitperf-run's modules: the checks, the recording, and the one report over a recording (summary, flame graph, the tests' sample table)."""
