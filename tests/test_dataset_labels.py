"""The label pass's fast parse (polygons and boxes blanked before parsing) keeps everything the labels need."""

from __future__ import annotations

import json

import pytest

from vwwdeploy.data import coco_labels as cl
from vwwdeploy.errors import UserError


def _without_heavy(coco):
    out = dict(coco)
    out["annotations"] = [
        {k: (None if k in ("segmentation", "bbox") and isinstance(v, list) else v) for k, v in a.items()}
        for a in coco["annotations"]
    ]
    return out


def test_fast_parse_equals_full_parse_on_real_coco(coco128):
    path = coco128 / "annotations_coco_json" / "instances_train2017_coco128.json"
    full = json.loads(path.read_text())
    fast = cl.load_instances(path)
    assert fast == _without_heavy(full)
    crowd = [a for a in fast["annotations"] if a["iscrowd"]]
    assert crowd and all(isinstance(a["segmentation"], dict) for a in crowd)  # RLE masks are kept as they are


@pytest.mark.parametrize("use_orjson", [True, False])
def test_odd_but_valid_json_gives_the_same_labels(tmp_path, monkeypatch, use_orjson):
    if not use_orjson:
        monkeypatch.setattr(cl, "_fast_json", None)
    coco = {
        "info": {"description": 'tricky "segmentation": [[1, 2]] text', "note": "bbox: [1]"},
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 100} for i in range(4)],
        "annotations": [
            {
                "id": 1,
                "image_id": 0,
                "category_id": 1,
                "area": 60.0,
                "bbox": [1e1, 2.5e-1, -0, 3],
                "segmentation": [[1, 2, 3.5, 4e2, 5, 6], [7, 8, 9, 10, 11, 12]],
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "area": 40.0,
                "iscrowd": 1,
                "segmentation": {"counts": [1, 2, 3], "size": [100, 100]},
                "bbox": [],
            },
            {"id": 3, "image_id": 2, "category_id": 2, "area": 9000.0, "segmentation": [], "bbox": [0, 0, 1, 1]},
            {"id": 4, "image_id": 3, "category_id": 1, "area": 51.0, "segmentation": [[0, 0, 1, 1, 2, 2]]},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}],
    }
    path = tmp_path / "a.json"
    for text in (json.dumps(coco), json.dumps(coco, indent=3)):  # pretty-printed: newlines inside the lists
        path.write_text(text)
        parsed = cl.load_instances(path)
        assert parsed["info"] == coco["info"]
        assert parsed == _without_heavy(coco) | {"annotations": parsed["annotations"]}
        assert [a["area"] for a in parsed["annotations"]] == [60.0, 40.0, 9000.0, 51.0]
        assert parsed["annotations"][1]["segmentation"] == {"counts": [1, 2, 3], "size": [100, 100]}
        assert cl.vww_labels(parsed).labels.tolist() == [1, 0, 0, 1]
        assert cl.vww_labels(parsed, ["dog"]).labels.tolist() == [0, 0, 1, 0]


def test_malformed_json_reports_the_real_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"images": [], "annotations": [{"segmentation": [[1, 2]], "area": }]}')
    with pytest.raises(UserError, match="not valid JSON"):
        cl.load_instances(path)


def test_unknown_category_lists_valid_names(coco128):
    path = coco128 / "annotations_coco_json" / "instances_train2017_coco128.json"
    with pytest.raises(UserError) as exc:
        cl.labels_from_file(path, ["persn"])
    message = str(exc.value)
    assert "'persn'" in message and "person" in message and "toothbrush" in message and "\n" not in message
