"""`vwwdeploy validate`: run the same int8 inputs through every path (ground truth, LiteRT, the TFLM host
twin, the board, the float model) and compare them.

Modules: `inputs` (labelled images -> int8 model inputs), `paths` (one scorer per path), `metrics`
(pure numpy comparisons), `shard` (boards and host paths in parallel threads), `report_json` /
`report_html` (the report), `runner` (the whole run: checks, boards, report folder).
"""
