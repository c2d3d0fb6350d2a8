"""Stage 1, data: the Visual Wake Words images before any model sees them.

Owns the COCO labels (`coco_labels`), image decoding and building (`build`, `folders`), the on-disk store (`store`),
the COCO 2014 download (`download`), synthetic and camera-like images (`synthetic`, `camera_like`) and the camera
input convention (`input_convention`: pixels -> a model's int8 input).
May import: the root basics (errors, constants, paths, progress, atomic) only.
"""
