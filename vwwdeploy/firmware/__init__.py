"""Firmware build support: upstream dependency pins (`deps`), TFLM source trees (`tflm_tree`),
the PlatformIO build (`build`) and flash/RAM accounting (`size`). Nothing upstream lives in the
repo; everything is fetched or pointed at, then kept in the cache (`vwwdeploy.paths.cache_dir()`)."""
