"""Keep Pulumi secrets recognisable inside the resource inputs a validation policy sees.

pulumi-policy (Python) unwraps secrets while decoding the engine's request for `validate`, so a
policy cannot tell a secret from plain text. The "no secret in a Lambda environment" rule needs
exactly that distinction, so the pack decodes inputs with `keep_secret_markers`: secrets become
`pulumi_policy.Secret` markers (which the validators understand), everything else is decoded by the
library as before. `install()` swaps it in; it never touches the remediation path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi_policy.deserialize as library
import pulumi_policy.policy as policy_module
from pulumi_policy import Secret

_original_deserialize: Callable[..., dict[str, Any]] = library.deserialize_properties


def _keep(prop: Any) -> Any:
    if isinstance(prop, list):
        return [_keep(item) for item in prop]
    if isinstance(prop, dict):
        signature = prop.get(library.SPECIAL_SIG_KEY)
        if signature == library.SPECIAL_SECRET_SIG:
            return Secret(_keep(prop.get("value")))
        if signature is not None:  # assets and archives: the library's own decoding
            return library._deserialize_property(prop)
        return {key: _keep(value) for key, value in prop.items()}
    return prop


def keep_secret_markers(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    """Decode engine properties like the library does, but leave secrets wrapped in `Secret`."""
    if proxy_secrets:  # remediation: the library's proxy already preserves secretness on writes
        return _original_deserialize(props, True)
    return {key: _keep(value) for key, value in props.items()}


# What this module relies on in pulumi-policy: checked before anything is patched.
_NEEDED = ((policy_module, "deserialize_properties"), (library, "SPECIAL_SIG_KEY"),
           (library, "SPECIAL_SECRET_SIG"), (library, "_deserialize_property"))


def install() -> None:
    """Make the policy servicer decode validation inputs with secret markers kept.

    Fails at start (not mid-preview) if this pulumi-policy version no longer has what it patches.
    """
    missing = [f"{module.__name__}.{name}" for module, name in _NEEDED if not hasattr(module, name)]
    if missing:
        raise RuntimeError(f"pulumi-policy changed ({', '.join(missing)} missing): secret markers cannot be "
                           "kept; update policy/secret_markers.py for this version")
    policy_module.deserialize_properties = keep_secret_markers
