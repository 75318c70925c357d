"""``python -m data users ...`` / ``audit verify``, run as a real process on a temporary SQLite file."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.errors import InvalidCredentialsError
from data.__main__ import main
from data.accounts.audit import AUDIT_KEY_ENV, AUDIT_LOG, AuditLog
from data.accounts.auth import USERS, AuthStore, Role
from data.accounts.cli import register, run_audit_verify, run_users_add, run_users_list
from data.storage import Store

REPO = Path(__file__).resolve().parents[2]
MAIN = "from data.__main__ import main; import sys; sys.exit(main(sys.argv[1:]))"
PASSWORD = "admin-pass-2026"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private database, audit key and data folder for the child processes."""
    e = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", AUDIT_KEY_ENV)}
    e.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite'}",
        XDG_DATA_HOME=str(tmp_path / "xdg"),
        PYTHONPATH=str(REPO),
        PYTHONIOENCODING="utf-8",
    )
    e[AUDIT_KEY_ENV] = "cli-test-audit-key-0123456789"
    return e


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        input=stdin,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def add(
    env: dict[str, str], username: str, role: str, *extra: str, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    return cli(
        env, "users", "add", "--username", username, "--role", role, *extra, "--password-stdin", stdin=password + "\n"
    )


def test_add_an_admin_then_sign_in_with_it(env: dict[str, str]) -> None:
    done = add(env, "admin", "admin")
    assert done.returncode == 0, done.stderr
    assert "已创建账户 admin（系统管理员）" in done.stdout
    town = add(env, "cuiyuan", "镇街服务站管理员", "--town", "330106005", "--display-name", "翠苑街道 李站长")
    assert town.returncode == 0, town.stderr
    assert "镇街 330106005" in town.stdout
    listed = cli(env, "users", "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[1].split("\t") == ["admin", "系统管理员", "-", "-", "admin", "启用"]
    assert lines[2].split("\t") == ["cuiyuan", "镇街服务站管理员", "330106005", "-", "翠苑街道 李站长", "启用"]
    assert lines[-1].startswith("共 2 个账户")
    with Store(env["DATABASE_URL"]) as store:
        session = AuthStore(store).authenticate("admin", PASSWORD)
        with store.engine.connect() as conn:
            stored = conn.execute(sa.select(USERS.c.password_hash).where(USERS.c.username == "admin")).scalar_one()
    assert session.user.role is Role.ADMIN
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # the production parameters


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("planner2", "superuser"), PASSWORD, "未知角色"),
        (("t1", "town_manager"), "", "必须指定镇街编码"),  # refused before asking for a password
        (("v1", "village_manager", "--town", "330106005", "--village", "330106013010"), PASSWORD, "不属于镇街"),
        (("planner2", "planner"), "too-short", "至少需要 10 个字符"),
        (("x", "planner"), PASSWORD, "用户名“x”无效"),
    ],
)
def test_bad_accounts_are_refused_with_one_line(
    env: dict[str, str],
    args: tuple[str, ...],
    password: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process (``main``), for speed: the real processes are exercised by the other tests."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    argv = ["users", "add", "--username", args[0], "--role", args[1], *args[2:], "--password-stdin"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("错误：")
    assert len(err.strip().splitlines()) == 1
    with Store(env["DATABASE_URL"]) as store:
        assert AuthStore(store).list_users() == []


def test_disable_passwd_and_duplicates(env: dict[str, str]) -> None:
    assert add(env, "planner1", "planner").returncode == 0
    dup = add(env, "Planner1", "viewer")
    assert (dup.returncode, "已存在" in dup.stderr) == (2, True)
    changed = cli(env, "users", "passwd", "planner1", "--password-stdin", stdin="a-brand-new-pass\n")
    assert changed.returncode == 0, changed.stderr
    disabled = cli(env, "users", "disable", "planner1")
    assert disabled.returncode == 0 and "已停用账户 planner1" in disabled.stdout
    unknown = cli(env, "users", "disable", "nobody")
    assert unknown.returncode == 2 and "不存在" in unknown.stderr
    with Store(env["DATABASE_URL"]) as store:
        auth = AuthStore(store)
        with pytest.raises(InvalidCredentialsError):  # the old password is gone
            auth.authenticate("planner1", PASSWORD)
        # the new one is right, but the account is disabled: the same answer as a wrong password
        with pytest.raises(InvalidCredentialsError):
            auth.authenticate("planner1", "a-brand-new-pass")
        assert auth.get_user("planner1").disabled  # type: ignore[union-attr]
        log = AuditLog(store, env[AUDIT_KEY_ENV].encode())
        entries = list(reversed(log.entries()))
        assert [e.action for e in entries][:3] == ["user_add", "user_set_password", "user_disable"]
        assert all(e.who.startswith("cli") and e.filter["username"] == "planner1" for e in entries[:3])
        assert log.verify().ok


def seed_log(env: dict[str, str], n: int) -> None:
    """``n`` audit entries written in-process with the key the child processes use."""
    with Store(env["DATABASE_URL"]) as store:
        log = AuditLog(store, env[AUDIT_KEY_ENV].encode())
        for i in range(n):
            log.append("planner1", "planner", "export_xlsx", {"town_code": "330106005", "i": i}, 185, "ab" * 32)


def test_audit_verify_reports_ok_then_the_first_broken_entry(env: dict[str, str]) -> None:
    seed_log(env, 3)
    ok = cli(env, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "审计日志完好：共 3 条记录" in ok.stdout
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.update(AUDIT_LOG).where(AUDIT_LOG.c.seq == 2).values(row_count=0))
    engine.dispose()
    broken = cli(env, "audit", "verify")
    assert broken.returncode == 1
    assert "第 2 条" in broken.stdout and "BROKEN at entry 2" in broken.stdout


def test_audit_verify_without_a_key_does_not_invent_one(env: dict[str, str], tmp_path: Path) -> None:
    seed_log(env, 1)
    del env[AUDIT_KEY_ENV]
    done = cli(env, "audit", "verify")
    assert done.returncode == 2 and "找不到审计密钥" in done.stderr
    assert not (tmp_path / "xdg" / "xihu-service-map" / "audit.key").exists()


def test_register_adds_the_commands_to_another_parser() -> None:
    parser = argparse.ArgumentParser(prog="python -m data")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("import")
    register(sub)
    args = parser.parse_args(["users", "add", "--username", "a1", "--role", "viewer", "--password-stdin"])
    assert args.func is run_users_add and args.password_stdin is True and args.town is None
    assert parser.parse_args(["users", "list"]).func is run_users_list
    assert parser.parse_args(["audit", "verify"]).func is run_audit_verify
    with pytest.raises(SystemExit):
        parser.parse_args(["users"])  # an action is required
