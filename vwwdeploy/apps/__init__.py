"""Stage 7, checks and apps on a board (real or virtual): `validation/` (validate a model on a board), `doctor`
(is the board and its link healthy), `mlperf/` (MLPerf Tiny runner, DUT and reports), `monitor`, `demo/` (the
browser demo) and `quickstart` (COCO to a running board in one command).
May import: the root basics and every stage below (data ... virtual_boards); never commands or the CLI.
"""
