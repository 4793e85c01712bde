"""The ``gateway`` operator command (SPEC "Operator commands").

With ``--json`` only JSON goes to stdout (logs go to stderr), so scripts can parse it.
"""
from __future__ import annotations

import argparse
import json
import sys

from shared.config import Config
from shared.errors import ConfigurationError, GatewayError


def _db(config: Config):
    import shared.models  # noqa: F401  (the model registry: every mapper before a flush)
    from shared.db import Database
    return Database(config.database_url)


def _print(args, payload: dict, human: str) -> None:
    if args.json:
        print(json.dumps(payload))
    else:
        print(human)


def cmd_migrate(args, config: Config) -> int:
    from shared.audit.service import CLI_ACTOR, record_audit
    from shared.migrate import upgrade
    upgrade(config.database_url)
    with _db(config).transaction() as session:
        record_audit(session, actor=CLI_ACTOR, action="database.migrate", object_id=None,
                     merchant_id=None)
    print("database migrated to the latest revision", file=sys.stderr)
    return 0


def cmd_create_merchant(args, config: Config) -> int:
    from shared.merchants.credentials import create_merchant
    with _db(config).transaction() as session:
        merchant, key = create_merchant(session, args.name, args.email, livemode=args.live)
    _print(args, {"merchant_id": merchant.id, "key_id": key.key_id, "api_key": key.api_key},
           f"merchant {merchant.id} created\nkey id:  {key.key_id}\nAPI key: {key.api_key}\n"
           "(the API key is shown only now; store it safely)")
    return 0


def cmd_create_api_key(args, config: Config) -> int:
    from shared.merchants.credentials import issue_key
    from shared.merchants.models import Merchant
    with _db(config).transaction() as session:
        if session.get(Merchant, args.merchant) is None:
            raise GatewayError(f"no merchant {args.merchant}", param="merchant")
        key = issue_key(session, args.merchant, livemode=args.live)
    _print(args, {"merchant_id": args.merchant, "key_id": key.key_id, "api_key": key.api_key},
           f"key id:  {key.key_id}\nAPI key: {key.api_key}\n(shown only now)")
    return 0


def cmd_revoke_api_key(args, config: Config) -> int:
    from shared.merchants.credentials import revoke_key
    with _db(config).transaction() as session:
        revoke_key(session, args.key_id)
    _print(args, {"key_id": args.key_id, "revoked": True}, f"key {args.key_id} revoked")
    return 0


def cmd_create_operator_key(args, config: Config) -> int:
    from shared.merchants.credentials import issue_key
    with _db(config).transaction() as session:
        key = issue_key(session, None, role="operator")
    _print(args, {"key_id": key.key_id, "api_key": key.api_key},
           f"operator key id: {key.key_id}\nAPI key: {key.api_key}\n(shown only now)")
    return 0


def cmd_create_user(args, config: Config) -> int:
    from shared.audit.service import CLI_ACTOR
    from shared.merchants.models import Merchant
    from shared.users.service import create_user
    password = sys.stdin.readline().rstrip("\r\n")
    with _db(config).transaction() as session:
        if session.get(Merchant, args.merchant) is None:
            raise GatewayError(f"no merchant {args.merchant}", param="merchant")
        user = create_user(session, config, args.merchant, email=args.email,
                           name=args.name or args.email.split("@", 1)[0], role=args.role,
                           password=password, actor=CLI_ACTOR)
    _print(args, {"user_id": user.id}, f"user {user.id} ({user.email}, {user.role}) created")
    return 0


def cmd_ledger_check(args, config: Config) -> int:
    from shared.reporting.check import check
    found = check(_db(config))
    if args.json:
        print(json.dumps({"ok": not found, "problems": found}))
    elif found:
        for problem in found:
            print(problem)
    else:
        print("ledger ok: every entry balances and the invariant holds", file=sys.stderr)
    return 1 if found else 0


def cmd_set_fee_schedule(args, config: Config) -> int:
    from shared.ledger.fees import set_schedule
    from shared.merchants.models import Merchant
    with _db(config).transaction() as session:
        if session.get(Merchant, args.merchant) is None:
            raise GatewayError(f"no merchant {args.merchant}", param="merchant")
        try:
            set_schedule(session, args.merchant, args.currency, args.fee_bps, args.fee_fixed)
        except ValueError as exc:
            raise GatewayError(str(exc)) from None
    _print(args, {"merchant_id": args.merchant, "currency": args.currency,
                  "fee_bps": args.fee_bps, "fee_fixed": args.fee_fixed},
           f"fee schedule for {args.merchant} {args.currency}: {args.fee_bps} bps + "
           f"{args.fee_fixed}")
    return 0


def cmd_dev(args, config: Config) -> int:
    from shared.tooling.devserver import run_dev
    return run_dev(config, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Payment gateway operator CLI")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)

    p = sub.add_parser("create-merchant", help="create a merchant and its first API key")
    p.add_argument("--name", required=True)
    p.add_argument("--email")
    p.add_argument("--live", action="store_true", help="issue a live key (default: test)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_create_merchant)

    p = sub.add_parser("create-api-key", help="issue another API key for a merchant")
    p.add_argument("--merchant", required=True)
    p.add_argument("--live", action="store_true", help="issue a live key (default: test)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_create_api_key)

    p = sub.add_parser("create-user", help="add a user to a merchant (password on stdin)")
    p.add_argument("--merchant", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True, choices=("owner", "admin", "developer", "viewer"))
    p.add_argument("--name")
    p.add_argument("--password-stdin", action="store_true", required=True,
                   help="read the password from the first line of stdin")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_create_user)

    p = sub.add_parser("revoke-api-key", help="revoke an API key")
    p.add_argument("key_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_revoke_api_key)

    p = sub.add_parser("create-operator-key", help="issue an operator credential")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_create_operator_key)

    p = sub.add_parser("ledger-check", help="verify the ledger balances and the invariant")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_ledger_check)

    p = sub.add_parser("set-fee-schedule", help="a merchant's fee for one currency")
    p.add_argument("--merchant", required=True)
    p.add_argument("--currency", required=True)
    p.add_argument("--fee-bps", type=int, required=True)
    p.add_argument("--fee-fixed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_set_fee_schedule)

    p = sub.add_parser("dev", help="run API, worker and beat on embedded defaults")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(fn=cmd_dev, json=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = Config.from_env()
        from shared.logging_setup import configure_logging
        configure_logging(config.log_level)
        return args.fn(args, config)
    except ConfigurationError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"gateway: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
