"""The stack's settings: every config key validated once, before any resource exists.

- `source`: the raw values the Pulumi CLI hands the program;
- `values`: the value types (one check and message per kind of value);
- `contract`: `StackConfig`, one field per config key (names as in the seed's `.env`),
  the secret keys, what a dev stack is (`is_dev_stack`);
- `rules/`: the rules that tie keys together, one module per concern (ldap, hub,
  gateway, zos);
- `groups`: the validated settings the components get, grouped by concern;
- `errors`: `SettingsError`, which names every bad key at once;
- `load`: `load_settings()` / `validate()`, tying it together.

Callers import from here: `from components.settings import load_settings`.
"""

from components.settings.contract import (
    ARRAY_KEYS,
    CONFIG_KEYS,
    DEV_DIRECTORY_BASE_DN,
    DEV_DIRECTORY_BIND_DN,
    DN_LIST_KEYS,
    MAP_KEYS,
    PROJECT,
    SECRET_KEYS,
    StackConfig,
    is_dev_stack,
    set_hint,
)
from components.settings.errors import Problem, SettingsError
from components.settings.groups import (
    GatewaySettings,
    HubSettings,
    KernelLimits,
    LdapSettings,
    LogSettings,
    Settings,
    ZosSettings,
)
from components.settings.load import (
    default_pki_dir,
    find_problems,
    load_settings,
    parse_value,
    validate,
)

__all__ = [
    "ARRAY_KEYS",
    "CONFIG_KEYS",
    "DN_LIST_KEYS",
    "MAP_KEYS",
    "DEV_DIRECTORY_BASE_DN",
    "DEV_DIRECTORY_BIND_DN",
    "PROJECT",
    "SECRET_KEYS",
    "GatewaySettings",
    "HubSettings",
    "KernelLimits",
    "LdapSettings",
    "LogSettings",
    "Problem",
    "Settings",
    "SettingsError",
    "StackConfig",
    "ZosSettings",
    "default_pki_dir",
    "find_problems",
    "is_dev_stack",
    "load_settings",
    "parse_value",
    "set_hint",
    "validate",
]
