"""`vwwdeploy demo`: a local web page showing a board's camera stream and scores live (Server-Sent Events)."""

from vwwdeploy.apps.demo.server import DemoServer, parse_http_address

__all__ = ["DemoServer", "parse_http_address"]
