"""Command line for accounts and the audit log: ``python -m data users ...`` / ``audit verify``.

Commands
--------
``users add --username U --role R [--town CODE] [--village CODE] [--display-name NAME] [--password-stdin]``
    Create an account. The password is asked twice (not echoed), or read as one line
    from standard input with ``--password-stdin`` (for scripts:
    ``printf '%s\\n' "$PW" | python -m data users add ... --password-stdin``). Roles:
    ``admin``, ``planner``, ``town_manager`` (needs ``--town``), ``village_manager``
    (needs ``--village``), ``viewer``, or their Chinese names.
``users list``
    Every account with role, area and status.
``users disable U``
    Disable an account and end its sessions.
``users passwd U [--password-stdin]``
    Set a new password (ends the account's sessions, clears its lockout).
``audit verify``
    Check the audit log's HMAC chain; print OK, or the first broken entry and exit 1.

The database is ``DATABASE_URL`` (default: the SQLite file of :mod:`data.storage`); the
audit key is ``XIHU_AUDIT_KEY`` or the key file of :func:`data.accounts.audit.audit_key`. Account
changes are written to the audit log as ``cli:<system user>``.

Exit codes: 0 done, 1 the audit chain is broken, 2 an expected problem (one line on
stderr: bad role, weak password, unknown user, no database ...).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from core.errors import CliError

if TYPE_CHECKING:
    from data.accounts.auth import AuthStore
    from data.storage import Store

EXIT_OK = 0
EXIT_BROKEN = 1


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _open_store() -> Store:
    import sqlalchemy as sa

    from data.storage import Store

    try:
        return Store()
    except sa.exc.SQLAlchemyError as exc:
        msg = f"无法打开数据库（DATABASE_URL）：{exc.__class__.__name__}: {exc} (cannot open the database)"
        raise CliError(msg) from exc


def _open_auth(store: Store) -> AuthStore:
    from data.accounts.audit import AuditLog, audit_key
    from data.accounts.auth import AuthStore

    return AuthStore(store, audit=AuditLog(store, audit_key()))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CliError("标准输入中没有密码 (no password on standard input)")
        return line.rstrip("\r\n")
    first = getpass.getpass("密码 (password): ")
    second = getpass.getpass("再次输入密码 (repeat): ")
    if first != second:
        raise CliError("两次输入的密码不一致 (the passwords differ)")
    return first


def run_users_add(args: argparse.Namespace) -> int:
    """Run ``users add``."""
    from data.accounts.auth import Role, check_password_policy, check_user_area, normalize_username

    role = Role.parse(args.role)
    check_user_area(role, args.town, args.village)  # before asking for a password
    password = _read_password(args)
    check_password_policy(password, username=normalize_username(args.username))
    with _open_store() as store:
        user = _open_auth(store).add_user(
            args.username,
            password,
            role,
            town_code=args.town,
            village_code=args.village,
            display_name=args.display_name,
            actor=_actor(),
        )
    area = "，".join(f"{k} {v}" for k, v in (("镇街", user.town_code), ("村(社区)", user.village_code)) if v)
    print(f"已创建账户 {user.username}（{user.role.label_zh}{'，' + area if area else ''}）(account created)")
    return EXIT_OK


def run_users_list(args: argparse.Namespace) -> int:
    """Run ``users list``: one tab-separated line per account."""
    from data.accounts.auth import AuthStore

    with _open_store() as store:
        users = AuthStore(store).list_users()
    print("用户名\t角色\t镇街\t村(社区)\t显示名\t状态")
    for u in users:
        status = "已停用" if u.disabled else "启用"
        cells = (u.username, u.role.label_zh, u.town_code or "-", u.village_code or "-", u.display_name, status)
        print("\t".join(cells))
    print(f"共 {len(users)} 个账户 ({len(users)} accounts)")
    return EXIT_OK


def run_users_disable(args: argparse.Namespace) -> int:
    """Run ``users disable``."""
    with _open_store() as store:
        _open_auth(store).disable_user(args.username, actor=_actor())
    print(f"已停用账户 {args.username}，其登录会话已全部失效 (account disabled)")
    return EXIT_OK


def run_users_passwd(args: argparse.Namespace) -> int:
    """Run ``users passwd``."""
    password = _read_password(args)
    with _open_store() as store:
        _open_auth(store).set_password(args.username, password, actor=_actor())
    print(f"已为 {args.username} 设置新密码，其登录会话已全部失效 (password set)")
    return EXIT_OK


def run_audit_verify(args: argparse.Namespace) -> int:
    """Run ``audit verify``: exit 0 when the chain is intact, 1 at the first broken entry."""
    from data.accounts.audit import AuditLog, audit_key

    key = audit_key(create=False)
    with _open_store() as store:
        result = AuditLog(store, key).verify()
    if result.ok:
        head = f"；最新记录校验码 {result.head_mac[:16]}" if result.head_mac else ""
        print(f"审计日志完好：共 {result.n_entries} 条记录，校验链完整{head} (OK: {result.n_entries} entries)")
        return EXIT_OK
    print(
        f"审计日志已损坏：第 {result.first_broken_seq} 条起无法验证。{result.reason}"
        f" (BROKEN at entry {result.first_broken_seq}: {result.reason_en})"
    )
    return EXIT_BROKEN


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``users`` and ``audit`` on the sub-parsers of ``python -m data``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers(...)``; each leaf parser sets ``func``
        (``Callable[[argparse.Namespace], int]``).
    """
    users = subparsers.add_parser(
        "users", help="账户管理：添加、列出、停用账户 (accounts)", description="管理登录账户。"
    )
    usub = users.add_subparsers(dest="users_command", required=True, metavar="action")

    add = usub.add_parser("add", help="添加账户 (add an account)", description="添加账户；密码至少 10 个字符。")
    add.add_argument("--username", required=True, help="用户名（2-64 个字母、数字或 _ . @ -）")
    add.add_argument(
        "--role",
        required=True,
        help="角色：admin（系统管理员）、planner（区级规划人员）、town_manager（镇街服务站管理员）、"
        "village_manager（村(社区)服务点管理员）、viewer（只读访客）",
    )
    add.add_argument("--town", help="镇街编码（town_manager 必填），如 330106002")
    add.add_argument("--village", help="村(社区)编码（village_manager 必填），如 330106002051")
    add.add_argument("--display-name", help="显示名（默认同用户名）")
    add.add_argument("--password-stdin", action="store_true", help="从标准输入读取一行作为密码")
    add.set_defaults(func=run_users_add)

    lst = usub.add_parser("list", help="列出账户 (list accounts)")
    lst.set_defaults(func=run_users_list)

    disable = usub.add_parser("disable", help="停用账户 (disable an account)")
    disable.add_argument("username")
    disable.set_defaults(func=run_users_disable)

    passwd = usub.add_parser("passwd", help="重设密码 (set a new password)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="从标准输入读取一行作为密码")
    passwd.set_defaults(func=run_users_passwd)

    audit = subparsers.add_parser("audit", help="审计日志 (audit log)", description="审计日志工具。")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="action")
    verify = asub.add_parser("verify", help="校验审计日志的 HMAC 链 (verify the chain)")
    verify.set_defaults(func=run_audit_verify)
