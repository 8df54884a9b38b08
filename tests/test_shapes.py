"""The typed boundary (kubectl_ray/shapes.py): envelope checks name the source and what was wrong in one
line; getters give a value of the asked type or the default, whatever the document holds."""

from __future__ import annotations

import io

import pytest

from kubectl_ray.shapes import (MAX_DEPTH, ShapeError, TooLarge, array, check_depth, decode_json, describe, dig,
                                expect_object, integer, list_envelope, mapping, name_of, objects, read_body_capped,
                                read_stream_capped, required_array, string_map, strings, text)

SOURCE = "the server's answer to GET /apis/ray.io/v1/namespaces/default/rayclusters"


@pytest.mark.parametrize("value, words", [(None, "null"), (True, "a JSON boolean"), (3, "a JSON number"),
                                          (2.5, "a JSON number"), ("x", "a JSON string"), ([1], "a JSON array"),
                                          ({}, "a JSON object")])
def test_describe_names_json_types(value, words):
    assert describe(value) == words


@pytest.mark.parametrize("body, problem", [
    (b"", "is not JSON (the body is empty)"),
    (b'{"items": [', "is not JSON (Expecting value at byte 11)"),
    (b"\xff\xfe", "is not JSON"),
    (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "is nested too deeply to read"),
])
def test_decode_json_failures_are_one_line_naming_the_source(body, problem):
    with pytest.raises(ShapeError) as exc:
        decode_json(body, SOURCE)
    line = exc.value.render()
    assert line.startswith(f"error: {SOURCE} {problem}") and "\n" not in line


@pytest.mark.parametrize("doc, message", [
    ([1, 2], f"error: {SOURCE} is not a list object (got a JSON array)"),
    ("str", f"error: {SOURCE} is not a list object (got a JSON string)"),
    (None, f"error: {SOURCE} is not a list object (got null)"),
    ({"items": {"a": 1}}, f"error: {SOURCE} is not a list object (items is a JSON object, not an array)"),
    ({"items": [{}, "a"]}, f"error: {SOURCE} is not a list object (items[1] is a JSON string, not an object)"),
    ({"items": [], "metadata": {"continue": 5}},
     f"error: {SOURCE} is not a list object (metadata.continue is a JSON number, not a string)"),
])
def test_list_envelope_errors_say_what_was_wrong(doc, message):
    with pytest.raises(ShapeError) as exc:
        list_envelope(doc, SOURCE)
    assert exc.value.render() == message


def test_list_envelope_reads_items_and_token():
    assert list_envelope({"items": None, "metadata": []}, SOURCE) == ([], None)
    assert list_envelope({"items": [{"a": 1}], "metadata": {"continue": "t"}}, SOURCE) == ([{"a": 1}], "t")
    assert expect_object({"a": 1}, SOURCE) == {"a": 1}


def test_check_depth_allows_real_objects_and_refuses_deeper_ones():
    doc: dict = {}
    node = doc
    for _ in range(MAX_DEPTH - 1):
        node["a"] = {}
        node = node["a"]
    check_depth(doc, SOURCE)
    node["a"] = [[]]
    with pytest.raises(ShapeError, match=f"nested more than {MAX_DEPTH} levels deep"):
        check_depth(doc, SOURCE)


def test_check_depth_counts_shared_parts_each_time_they_are_used():
    """A YAML alias bomb: nine levels of ten references to the level below (10**9 values)."""
    level: list = ["lol"] * 10
    for _ in range(8):
        level = [level] * 10
    with pytest.raises(ShapeError, match="more than 1000 values once its aliases are expanded"):
        check_depth(level, "the file", max_values=1000)


class Chunks(io.RawIOBase):
    """An HTTP body as http.client gives it: read(n) pieces, `length` left when a length was declared."""

    def __init__(self, data: bytes, declared: int | None = None) -> None:
        self.data, self.length = data, declared

    def read(self, size: int = -1) -> bytes:
        piece, self.data = self.data[:size], self.data[size:]
        if self.length is not None:
            self.length -= len(piece)
        return piece


def test_read_body_capped_reads_up_to_the_cap():
    assert read_body_capped(Chunks(b"x" * 3000), 3000) == b"x" * 3000
    with pytest.raises(TooLarge) as exc:
        read_body_capped(Chunks(b"x" * 3001), 3000)
    assert exc.value.start == b"x" * 3000


def test_a_declared_length_past_the_cap_is_refused_before_reading_it():
    body = Chunks(b"y" * 10, declared=10**12)
    with pytest.raises(TooLarge):
        read_body_capped(body, 100, declared=10**12)


def test_a_body_shorter_than_declared_is_an_incomplete_read():
    import http.client

    with pytest.raises(http.client.IncompleteRead):
        read_body_capped(Chunks(b"z" * 5, declared=50), 100, declared=50)


def test_read_stream_capped_stops_after_the_cap():
    assert read_stream_capped(io.BytesIO(b"abc"), 3) == b"abc"
    with pytest.raises(TooLarge):
        read_stream_capped(io.BytesIO(b"abcd"), 3)


OBJ = {"metadata": {"name": "a", "labels": {"x": "1", "y": 2}}, "status": None, "spec": {
    "replicas": "3", "count": 7, "flag": True, "groups": [{"n": 1}, "s", 5], "words": ["a", 1], "text": ["no"]}}


def test_getters_give_the_asked_type_or_the_default():
    assert mapping(OBJ, "status") == {} and mapping(OBJ, "metadata", "name") == {}
    assert array(OBJ, "spec", "groups") == [{"n": 1}, "s", 5] and array(OBJ, "spec", "text", 0) == []
    assert objects(OBJ, "spec", "groups") == [{"n": 1}]
    assert text(OBJ, "spec", "text") == "" and text(OBJ, "spec", "text", 0) == "no" and name_of(OBJ) == "a"
    assert integer(OBJ, "spec", "replicas", default=-1) == -1 and integer(OBJ, "spec", "count") == 7
    assert integer(OBJ, "spec", "flag") == 0  # a bool is not a count
    assert strings(OBJ, "spec", "words") == ["a"]
    assert string_map(OBJ, "metadata", "labels") == {"x": "1"}
    assert dig(OBJ, "spec", "groups", 9) is None and dig("not an object", "a") is None


def test_required_array_names_the_object_and_field():
    assert required_array({"spec": {}}, ("spec", "workerGroupSpecs"), "RayCluster demo") == []
    with pytest.raises(ShapeError) as exc:
        required_array({"spec": {"workerGroupSpecs": "x"}}, ("spec", "workerGroupSpecs"), "RayCluster demo")
    assert exc.value.render() == ("error: RayCluster demo has spec.workerGroupSpecs of the wrong type "
                                  "(a JSON string, not an array)")
