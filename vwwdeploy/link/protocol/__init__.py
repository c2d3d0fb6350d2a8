"""The vwwdeploy device protocol, version 1 (docs/protocol.md): CRCs, framing, messages, image pipeline.

Pure Python + numpy; no serial I/O here (that is `vwwdeploy.link`), so the firmware's C++ twin
and these modules can be checked against the same golden vectors in tests/vectors/.
"""
