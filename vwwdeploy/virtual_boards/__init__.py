"""Stage 6, boards without hardware: the Python board simulator (`sim/`), the firmware under QEMU (`qemu`) and the
SparkFun Edge emulator (`edge/`). They speak the same protocols as a real board, so everything above runs on them.
May import: the root basics and every stage below (data, training, model, firmware, link); never apps or commands.
"""
