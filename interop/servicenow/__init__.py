"""ServiceNow: our catalog mapped to its SDK's definitions, export to Fluent, and the SDK's build as a check.

The SDK itself (`@servicenow/sdk`, npm, MIT) is pinned in `sdk/package.json`; `./dev` installs it with `npm ci`.
"""

from pathlib import Path

SDK_ROOT = Path(__file__).parent / "sdk"
"""The npm project that pins ServiceNow's SDK; its `node_modules` is installed by `./dev`."""
