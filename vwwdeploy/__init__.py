"""vwwdeploy: Visual Wake Words person detection from COCO to the SparkFun Edge."""

__version__ = "0.1.0"
