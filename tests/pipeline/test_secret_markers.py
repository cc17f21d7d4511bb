"""Decoding engine properties keeps secrets marked and everything else as the library decodes it."""

from __future__ import annotations

import pulumi
import pulumi_policy.deserialize as library
import pulumi_policy.policy as policy_module
import pytest
from pulumi_policy import Secret

from policy import secret_markers

WIRE_SECRET = {library.SPECIAL_SIG_KEY: library.SPECIAL_SECRET_SIG, "value": "hunter2"}


def test_secrets_become_markers_at_any_depth():
    props = {"a": WIRE_SECRET, "b": {"c": [1, WIRE_SECRET]}, "d": "plain"}
    out = secret_markers.keep_secret_markers(props)
    assert isinstance(out["a"], Secret) and out["a"].value == "hunter2"
    assert isinstance(out["b"]["c"][1], Secret) and out["b"]["c"][0] == 1
    assert out["d"] == "plain"


def test_library_alone_would_lose_the_secret():
    # Why the module exists: the stock decoder hands the policy plain text.
    assert library.deserialize_properties({"a": WIRE_SECRET}) == {"a": "hunter2"}


def test_non_secret_values_decode_exactly_like_the_library():
    asset = {library.SPECIAL_SIG_KEY: library.SPECIAL_ASSET_SIG, "text": "print(1)"}
    props = {"n": 3, "s": "x", "l": [True, None, {"k": "v"}], "asset": asset}
    ours = secret_markers.keep_secret_markers(props)
    theirs = library.deserialize_properties(props)
    assert {k: ours[k] for k in ("n", "s", "l")} == {k: theirs[k] for k in ("n", "s", "l")}
    assert isinstance(ours["asset"], pulumi.StringAsset)


def test_remediation_path_is_left_to_the_library():
    out = secret_markers.keep_secret_markers({"a": WIRE_SECRET}, proxy_secrets=True)
    assert out["a"] == "hunter2"  # the library's proxy unwraps on read and keeps secretness on write


def test_install_refuses_a_library_without_what_it_patches(monkeypatch):
    monkeypatch.delattr(library, "_deserialize_property")
    original = policy_module.deserialize_properties
    with pytest.raises(RuntimeError, match="_deserialize_property missing"):
        secret_markers.install()
    assert policy_module.deserialize_properties is original  # nothing half-patched


def test_install_swaps_the_decoder(monkeypatch):
    monkeypatch.setattr(policy_module, "deserialize_properties", library.deserialize_properties)
    secret_markers.install()
    assert policy_module.deserialize_properties is secret_markers.keep_secret_markers
