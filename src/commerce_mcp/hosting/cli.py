"""``commerce-mcp tenants …``: manage hosted tenants, their API keys and the encryption key."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

# Only the parser is built on every command (stdio start-up included): the rest is imported in run().
if TYPE_CHECKING:
    from commerce_mcp.hosting.api_keys import ApiKeys
    from commerce_mcp.hosting.tenants import TenantDirectory

Emit = Callable[[str], None]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tenants = sub.add_parser("tenants", help="hosted mode: tenants, API keys, encryption key")
    cmd = tenants.add_subparsers(dest="tenants_command", required=True)
    add = cmd.add_parser("add", help="create a tenant and print its first API key (once)")
    add.add_argument("name")
    add.add_argument(
        "--from-env",
        action="store_true",
        help="take the tenant's TIKTOK_* / AMAZON_* settings from this environment",
    )
    add.add_argument("--allow-writes", action="store_true", help="let this tenant use write tools")
    add.add_argument("--toolsets", help="comma list of tiktok,amazon,crosschannel")
    add.add_argument("--read-only-key", action="store_true", help="the key gets commerce:read only")
    settings = cmd.add_parser("set", help="set tenant settings, e.g. TIKTOK_APP_KEY=... ")
    settings.add_argument("name")
    settings.add_argument("pairs", nargs="+", metavar="KEY=VALUE")
    cmd.add_parser("list", help="tenants and their API keys (by prefix)")
    remove = cmd.add_parser("remove", help="delete a tenant and revoke its keys")
    remove.add_argument("name")
    key = cmd.add_parser("key", help="issue another API key for a tenant (printed once)")
    key.add_argument("name")
    key.add_argument("--read-only", action="store_true")
    revoke = cmd.add_parser("revoke", help="revoke an API key by its prefix")
    revoke.add_argument("prefix")
    cmd.add_parser("keygen", help="print a new COMMERCE_MCP_ENCRYPTION_KEY")


async def run(args: argparse.Namespace, emit: Emit = print) -> int:
    """Run one ``tenants`` subcommand; returns the exit code."""
    from cryptography.fernet import Fernet

    from commerce_mcp.errors import CommerceError
    from commerce_mcp.hosting.api_keys import ApiKeys
    from commerce_mcp.hosting.settings import HostingSettings
    from commerce_mcp.hosting.tenants import TenantDirectory
    from commerce_mcp.services import Services

    if args.tenants_command == "keygen":
        emit(Fernet.generate_key().decode())
        return 0
    control = Services.from_env()
    try:
        store = await control.store()
        directory = TenantDirectory(store, HostingSettings().commerce_mcp_encryption_key)
        keys = ApiKeys(store)
        return await _dispatch(args, directory, keys, emit)
    except CommerceError as exc:
        sys.stderr.write(f"error: {exc.describe()}\n")
        return 1
    finally:
        await control.aclose()


async def _dispatch(
    args: argparse.Namespace, directory: TenantDirectory, keys: ApiKeys, emit: Emit
) -> int:
    from commerce_mcp.hosting.tenants import TENANT_SETTINGS, TenantConfig, check_name

    command = args.tenants_command
    if command == "add":
        check_name(args.name)
        if await directory.get(args.name) is not None:
            sys.stderr.write(f"error: tenant {args.name!r} exists; use `tenants set` or `key`\n")
            return 1
        values = _from_env() if args.from_env else {}
        await directory.save(
            TenantConfig(args.name, values, allow_writes=args.allow_writes, toolsets=args.toolsets)
        )
        key = await keys.issue(args.name, write=not args.read_only_key)
        emit(f"tenant {args.name} created. API key (shown once, store it now):\n{key}")
        return 0
    if command == "set":
        tenant = await directory.require(args.name)
        for pair in args.pairs:
            name, sep, value = pair.partition("=")
            if not sep:
                sys.stderr.write(f"error: {pair!r} is not KEY=VALUE\n")
                return 2
            tenant.values[name.strip().lower()] = value
        await directory.save(tenant)
        emit(f"tenant {args.name} updated ({len(args.pairs)} setting(s))")
        return 0
    if command == "list":
        for name in await directory.names():
            tenant = await directory.require(name)
            prefixes = [
                f"cmcp_{k.prefix}{' (revoked)' if k.revoked else ''}" for k in await keys.list(name)
            ]
            channels = sorted({v.split("_")[0] for v in tenant.values if v in TENANT_SETTINGS})
            emit(
                f"{name}: writes {'on' if tenant.allow_writes else 'off'};"
                f" channels {', '.join(channels) or 'none'}; keys {', '.join(prefixes) or 'none'}"
            )
        return 0
    if command == "remove":
        revoked = await keys.revoke_tenant(args.name)
        removed = await directory.remove(args.name)
        emit(
            f"tenant {args.name} {'removed' if removed else 'not found'}; {revoked} key(s) revoked"
        )
        return 0 if removed else 1
    if command == "key":
        await directory.require(args.name)
        emit(await keys.issue(args.name, write=not args.read_only))
        return 0
    if command == "revoke":
        found = await keys.revoke(args.prefix)
        emit("revoked" if found else "no key with that prefix")
        return 0 if found else 1
    return 2


def _from_env() -> dict[str, str]:
    from commerce_mcp.hosting.tenants import TENANT_SETTINGS

    return {
        name: os.environ[name.upper()]
        for name in TENANT_SETTINGS
        if os.environ.get(name.upper(), "").strip()
    }
