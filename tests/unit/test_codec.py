"""The snapshot codec: every kind of plain data the model may hold round-trips exactly, other
kinds are refused with the path that holds them, and another version's fields are tolerated."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from ecr_emulator.store.codec import CodecError, decode, encode
from ecr_emulator.store.model import Image, Repository


@dataclass
class Holder:
    """A dataclass of this package (tests live outside it, so the codec must refuse it)."""

    value: object = None


def _through_json(value):
    return decode(json.loads(json.dumps(encode(value))))


def test_every_plain_kind_round_trips():
    when = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    image = Image("sha256:" + "a" * 64, b"\x00\xff{}", "application/json", when, 4, blobs=("x", "y"),
                  annotations={"$weird": "key", "k": "v"}, tags=["v1"])
    repo = Repository("team/app", "123456789012", "us-east-1", "private", when,
                      images={image.digest: image}, tag_index={"v1": image.digest},
                      catalog_data={"logoImageBlob": b"\x89PNG", "nested": [1, 2.5, None, True, (1, "a")],
                                    3: "int key"})
    back = _through_json(repo)
    assert back == repo
    assert back.images[image.digest].blobs == ("x", "y")  # a tuple stays a tuple
    assert back.created_at.utcoffset() == timedelta(hours=2)
    assert back.catalog_data[3] == "int key" and isinstance(back.catalog_data["nested"][4], tuple)


def test_values_outside_the_model_rules_are_refused_with_their_path():
    repo = Repository("r", "123456789012", "us-east-1", "private", datetime.now(timezone.utc))
    repo.tags["bad"] = threading.Lock()
    with pytest.raises(CodecError, match=r"state\.tags\.bad: a lock is not plain data"):
        encode(repo)
    repo.tags["bad"] = {1, 2}
    with pytest.raises(CodecError, match="set is not plain data"):
        encode(repo)


def test_only_classes_of_the_package_are_saved_or_loaded():
    with pytest.raises(CodecError, match="not a class of the ecr_emulator package"):
        encode(Holder())
    with pytest.raises(CodecError, match="not a class of the ecr_emulator package"):
        decode({"$dc": "subprocess:Popen", "args": ["true"]})
    with pytest.raises(CodecError, match="does not have"):
        decode({"$dc": "ecr_emulator.store.model:Gone"})


def test_fields_of_another_version_are_tolerated():
    data = encode(Repository("r", "123456789012", "us-east-1", "private", datetime.now(timezone.utc)))
    data["field_from_the_future"] = {"$b": "AAAA"}
    del data["tagged_at"]  # a field this version added since the snapshot was written
    back = decode(data)
    assert back.name == "r" and back.tagged_at == {}

