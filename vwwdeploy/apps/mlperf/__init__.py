"""MLPerf Tiny (EEMBC/MLCommons) device-under-test protocol: a host runner for any MLPerf Tiny board, a
reference DUT on the TFLM twin, the metrics and reports, and the accuracy-set writer (docs/mlperf.md)."""
