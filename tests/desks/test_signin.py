"""Sign-in limits (`users.authenticate`): failed sign-ins lock a user name per client (address),
so a stranger's wrong passwords never lock the name for its user on another client, while
guessing stays stopped, from one client and from many. On SQLite and PostgreSQL, including a
database made before sign-ins kept their client."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml
from streamlit.testing.v1 import AppTest

from chengxin import config, i18n, state, users
from chengxin.desks import signins

USER, RIGHT, WRONG = "lender1", "lender-demo", "guess"
A, B = "198.51.100.7", "203.0.113.9"  # the user's browser, a stranger's


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, monkeypatch):
    """A workspace whose shared state is an empty SQLite file or an emptied PostgreSQL database."""
    monkeypatch.setenv("CHENGXIN_HOME", str(tmp_path))
    if request.param == "postgresql":
        monkeypatch.setenv(state.URL_ENV, request.getfixturevalue("postgres_url"))
        state.forget_engines()
        state.METADATA.drop_all(state.engine(tmp_path))
    else:
        monkeypatch.delenv(state.URL_ENV, raising=False)
    state.forget_engines()  # the next engine() creates the tables
    yield tmp_path
    state.forget_engines()


def limits(home):
    return config.settings(home).dashboard


def test_a_strangers_failures_from_another_client_do_not_lock_the_user_out(db):
    for _ in range(limits(db).login_max_failures):
        assert users.authenticate(USER, WRONG, db, client=B) is None
    with pytest.raises(users.LockedOut):  # the stranger's client is locked, even with the right password
        users.authenticate(USER, RIGHT, db, client=B)
    assert users.authenticate(USER, RIGHT, db, client=A).role == "lender"  # the user, elsewhere, is not
    with pytest.raises(users.LockedOut):  # and the user's sign-in does not unlock the stranger
        users.authenticate(USER, RIGHT, db, client=B)
    assert signins.failed_logins(USER, 15, db, client=B) == limits(db).login_max_failures
    assert signins.failed_logins(USER, 15, db, client=A) == 0


def test_guessing_from_one_client_still_locks_the_name_there(db):
    assert users.authenticate(USER, RIGHT, db, client=A)
    for _ in range(limits(db).login_max_failures - 1):
        assert users.authenticate(USER, WRONG, db, client=A) is None
    assert users.authenticate(USER, RIGHT, db, client=A)  # a success there starts its count again
    for _ in range(limits(db).login_max_failures):
        assert users.authenticate(USER, WRONG, db, client=A) is None
    with pytest.raises(users.LockedOut):
        users.authenticate(USER, RIGHT, db, client=A)
    assert users.authenticate("analyst1", "analyst-demo", db, client=A)  # other names are not affected
    with state.connect(db) as con:  # the window passes
        con.execute(sa.update(state.LOGINS).where(state.LOGINS.c.username == USER).values(at="2000-01-01T00:00:00"))
    assert users.authenticate(USER, RIGHT, db, client=A).role == "lender"


def test_an_unknown_client_is_one_client_too(db):
    """A session whose address is unknown ('' or None: a browser on the server, or no proxy
    header) has its own limit, as before clients were told apart."""
    for _ in range(limits(db).login_max_failures):
        assert users.authenticate(USER, WRONG, db) is None
    with pytest.raises(users.LockedOut):
        users.authenticate(USER, RIGHT, db, client="")
    assert users.authenticate(USER, RIGHT, db, client=A)


def test_guessing_from_many_clients_locks_the_name_for_clients_it_never_signed_in_from(db):
    (db / "settings.yaml").write_text(yaml.safe_dump({"dashboard": {"login_max_failures_all_clients": 8}}))
    assert limits(db).login_max_failures_all_clients == 8 and limits(db).login_max_failures == 5
    assert users.authenticate(USER, RIGHT, db, client=A)  # the user's own browser is known
    strangers = [f"192.0.2.{k}" for k in range(4)]
    for client in strangers:  # two guesses each: under every client's own limit, 8 in all
        for _ in range(2):
            assert users.authenticate(USER, WRONG, db, client=client) is None
    for client in [strangers[0], "192.0.2.99"]:  # no new guess is checked, from anywhere new
        with pytest.raises(users.LockedOut):
            users.authenticate(USER, RIGHT, db, client=client)
    assert users.authenticate(USER, RIGHT, db, client=A).role == "lender"  # its user still signs in
    # its user's success starts the count of all clients again (each stranger keeps its own)
    assert users.authenticate(USER, RIGHT, db, client="192.0.2.99")
    assert signins.failed_logins(USER, 15, db, client=strangers[0]) == 2


def test_a_database_made_before_clients_were_kept_gains_the_column(db):
    """The `client` column is added to an existing logins table; its rows stay (NULL client:
    counted for the name from all clients, for no client of its own)."""
    eng = state.engine(db)
    with eng.begin() as con:
        con.execute(sa.text("DROP TABLE logins"))
        con.execute(sa.text("CREATE TABLE logins (at TEXT NOT NULL, username TEXT NOT NULL, ok INTEGER NOT NULL)"))
        now = state.now("microseconds")
        for _ in range(limits(db).login_max_failures):
            con.execute(sa.text("INSERT INTO logins VALUES (:at, :u, 0)"), {"at": now, "u": USER})
    state.forget_engines()
    assert "client" in {c["name"] for c in sa.inspect(state.engine(db)).get_columns("logins")}
    state.forget_engines()
    state.engine(db)  # a second engine (another process) finds it there
    assert signins.failed_logins(USER, 15, db) == limits(db).login_max_failures
    assert signins.failed_logins(USER, 15, db, client=A) == 0
    assert users.authenticate(USER, RIGHT, db, client=A).role == "lender"


def test_the_dashboards_sign_in_form(home):
    """The sidebar signs in through `authenticate` with the session's client ('' in AppTest):
    wrong passwords are refused, and too many lock that client out."""
    # the sidebar alone (AppTest reruns only the page of an app with st.navigation, never its sidebar)
    at = AppTest.from_string("from chengxin import ui\nui.setup()\nui.sidebar()\n", default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()

    def sign_in(password):
        at.sidebar.text_input(key="login_user").input(USER)
        at.sidebar.text_input(key="login_password").input(password)
        at.sidebar.button(key="login_submit").click().run()
        assert not at.exception, [e.value for e in at.exception]
        return [e.value for e in at.sidebar.error]

    assert sign_in(RIGHT) == [] and at.session_state["user"].username == USER
    at.sidebar.button(key="logout").click().run()
    for _ in range(limits(home).login_max_failures):
        assert sign_in(WRONG) == [i18n.t("login_failed", "en")]
    assert sign_in(RIGHT) == [i18n.t("login_locked", "en")]
    assert at.session_state["user"] is None
    with state.connect(home) as con:
        clients = con.scalars(sa.select(state.LOGINS.c.client).distinct()).all()
    assert clients == [""]
    assert signins.failed_logins(USER, 15, home, client="") == limits(home).login_max_failures


def test_the_client_is_the_address_that_connected_unless_a_named_proxy_forwarded_it():
    from chengxin import ui

    # no proxy named: no header picks another client (one could pick a fresh one for every guess)
    assert ui.client_address(B, "192.0.2.1", ()) == B
    assert ui.client_address(None, "192.0.2.1", ()) == ""  # this machine (a proxy nobody named: one client)
    # a proxy on this machine, named: the address it saw, the last one it appended
    assert ui.client_address(None, "192.0.2.1, 203.0.113.9", ("127.0.0.1",)) == B
    assert ui.client_address(None, None, ("127.0.0.1",)) == ""
    # a chain of named proxies: the last address none of them is
    assert ui.client_address("10.0.0.5", "192.0.2.1, 198.51.100.7, 10.0.0.9", ("10.0.0.0/24",)) == A
    assert ui.client_address(B, "192.0.2.1", ("10.0.0.0/24",)) == B  # not from a named proxy: ignored
    assert ui.client_address("2001:db8::1", None, ("127.0.0.1",)) == "2001:db8::1"


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path):
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump({"dashboard": {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}}))
    assert config.settings(tmp_path).dashboard.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump({"dashboard": {"trusted_proxies": ["the proxy"]}}))
    with pytest.raises(ValueError, match="not an address or network"):  # pydantic's ValidationError
        config.settings(tmp_path)


def test_the_published_demo_passwords_are_the_hashed_ones():
    """`demo_password` is what the manual and `make demo`'s banner publish: it must sign in."""
    import bcrypt

    demo = [u for u in users.declared_roles().users.values() if u.demo_password]
    assert {u.username for u in demo} == {"lender1", "dept1", "firm1", "analyst1", "admin1"}
    for u in demo:
        assert bcrypt.checkpw(u.demo_password.encode(), u.password_bcrypt.encode()), u.username
    assert [f["user"] for f in users.sign_ins()] == [u.username for u in demo]
