"""Visual Wake Words dataset: COCO labels (coco_labels), image decoding/building (build), the on-disk store (store)
and COCO 2014 download (download)."""
