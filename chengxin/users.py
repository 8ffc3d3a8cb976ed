"""Dashboard users, roles and the masking policy (``chengxin/conf/roles.yaml``).

Passwords are checked against bcrypt hashes; a workspace replaces the demo users with its own
in ``$CHENGXIN_HOME/users.yaml``. Personal data (individuals' ID numbers and names, and every
column the data contract marks ``personal``) is masked for every role whose
``personal_data`` is ``masked``.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chengxin import config, identifiers, workspace

PUBLIC = "public"
# the role of departments' clerks: what some rights give it depends on its department (`may_supervise`)
DEPARTMENT = "department"
PAGES = ("overview", "lookup", "warning", "criteria", "models", "coverage", "publication", "checks", "supervision",
         "audit", "cases", "mine", "verify")
REPORT_KINDS = ("public", "certificate", "lender")  # credit reports (chengxin/reports/)
REPORT_FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}  # and their files' media types
RATING_PARTS = ("tier", "grade", "pd", "score", "reasons", "contributions", "history", "records", "repair")
# what a role may call in the credit services API (`chengxin serve`)
API_SCOPES = ("subjects", "batch", "explanation", "lists", "criteria", "watchlist", "checks", "cases", "supervision")
# what a role may do with cases (`chengxin.desks.cases`): see every case (`desk`), file on a subject's
# behalf at the counter (`file`), decide on the records its own department provided
# (`decide_records`), decide on ratings and reviews (`decide_ratings`), record a department's
# decision on its behalf (`on_behalf`), file and follow its own cases (`own`, the subject role)
CASE_RIGHTS = ("desk", "file", "decide_records", "decide_ratings", "on_behalf", "own")
# A hash of nothing anyone can type: unknown users cost as much time as known ones.
_DUMMY = "$2b$12$KLTuPemuhoDn0YJM0f63vu3Hwx.KY6G2lL1CRbJlpImLbYCFFUnE."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(_Strict):
    name: str = ""
    zh: str
    en: str
    pages: tuple[str, ...]
    rating: tuple[str, ...]
    individuals: bool = False
    personal_data: Literal["masked", "full"] = "masked"
    lists: tuple[config.SubjectType, ...] = ("enterprise",)
    open_alerts: bool = False
    act_on_alerts: bool = False
    read_comments: bool = False
    refresh: bool = False
    api: tuple[str, ...] = ()
    check_statistics: bool = False  # sees the office's count of credit checks per department and action
    # sees risk classes and inspection plans (supervision.yaml; a department's role only where its
    # department inspects: `may_supervise`)
    supervision: bool = False
    # callers without a key (the public role): API requests per minute per client address, shared by the workers
    api_rate_per_minute: int | None = Field(None, ge=1)
    # callers without a key: credit reports per minute per client address (each costs the server ~0.4 s)
    report_rate_per_minute: int | None = Field(None, ge=1)
    cases: tuple[str, ...] = ()  # CASE_RIGHTS
    reports: tuple[str, ...] = ("public", "certificate")  # REPORT_KINDS it may have issued (its own subject: all)
    own_only: bool = False  # a subject's own account: it reaches its own subject and nothing else
    home: str | None = None  # the page a signed-in user of the role lands on (default: its first page)

    @model_validator(mode="after")
    def _known(self):
        for p in self.pages:
            if p not in PAGES:
                raise ValueError(f"unknown page {p!r}; pages are {', '.join(PAGES)}")
        if self.home is not None and self.home not in self.pages:
            raise ValueError(f"home {self.home!r} is not one of the role's pages ({', '.join(self.pages)})")
        for r in self.rating:
            if r not in RATING_PARTS:
                raise ValueError(f"unknown rating part {r!r}; parts are {', '.join(RATING_PARTS)}")
        for k in self.reports:
            if k not in REPORT_KINDS:
                raise ValueError(f"unknown report kind {k!r}; kinds are {', '.join(REPORT_KINDS)}")
        for right in self.cases:
            if right not in CASE_RIGHTS:
                raise ValueError(f"unknown case right {right!r}; rights are {', '.join(CASE_RIGHTS)}")
        for scope in self.api:
            if scope not in API_SCOPES:
                raise ValueError(f"unknown API scope {scope!r}; scopes are {', '.join(API_SCOPES)}")
        if "explanation" in self.api and not {"contributions", "repair"} <= set(self.rating):
            raise ValueError("a role with the API's explanation must see contributions and repair paths")
        if "warning" in self.pages and "records" not in self.rating:
            raise ValueError("a role on the early-warning desk must see records (the alerts' evidence)")
        if ("supervision" in self.pages or "supervision" in self.api) and not self.supervision:
            raise ValueError("the supervision page and API scope need the `supervision` right")
        return self

    def sees(self, part: str) -> bool:
        return part in self.rating

    @property
    def home_page(self) -> str:
        """The page the role lands on: its declared `home`, else its first page."""
        return self.home or self.pages[0]

    @property
    def masked(self) -> bool:
        return self.personal_data == "masked"

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class User(_Strict):
    username: str = ""
    display: str = ""  # who it is, in Chinese (the institution or person)
    display_en: str = ""  # and in English, where the interface is English (default: `display`)
    role: str
    password_bcrypt: str = Field(pattern=r"^\$2[aby]\$\d\d\$.{53}$")
    department: str | None = None  # a department's user: the department (as its records name it)
    subject: str | None = None  # a subject's own account: its USCC or ID number
    # the password of a demo user the package ships (published in the manual and `make demo`'s
    # banner, and checked against the hash by the tests); an operator's users.yaml never sets it
    demo_password: str | None = None

    def shown(self, lang: str = "zh") -> str:
        """Who it is, in the interface's language (the user name when nothing is declared)."""
        return (self.display_en if lang != "zh" and self.display_en else self.display) or self.username


class RolesConfig(_Strict):
    roles: dict[str, Role]
    users: dict[str, User]

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data):
        for name, body in (data.get("roles") or {}).items():
            body.setdefault("name", name)
        for name, body in (data.get("users") or {}).items():
            body.setdefault("username", name)
        return data

    @model_validator(mode="after")
    def _check(self):
        if PUBLIC not in self.roles:
            raise ValueError(f"the role {PUBLIC!r} (no login) must be declared")
        public = self.roles[PUBLIC]
        if public.individuals or not public.masked or "individual" in public.lists:
            raise ValueError("the public role may never reach individuals' data")
        for r in self.roles.values():
            if r.supervision and (r.name == PUBLIC or r.own_only):
                raise ValueError(f"the role {r.name!r} may never see risk classes: they are the inspecting departments' own tool")
        for u in self.users.values():
            if u.role not in self.roles:
                raise ValueError(f"user {u.username!r} has the unknown role {u.role!r}")
            if u.role == PUBLIC:
                raise ValueError(f"user {u.username!r}: the public role needs no login")
            r = self.roles[u.role]
            if r.own_only and not u.subject:
                raise ValueError(f"user {u.username!r} of role {u.role!r} needs `subject:` (its USCC or ID number)")
            if "decide_records" in r.cases and not u.department:
                raise ValueError(f"user {u.username!r} decides on its department's records: it needs `department:`")
        return self


def roles_config(home=None) -> RolesConfig:
    """The package's roles and demo users; ``$CHENGXIN_HOME/users.yaml`` may change roles and
    replaces the users (`config.declared`'s one rule)."""
    return config.declared("roles", RolesConfig, home)


def declared_roles() -> RolesConfig:
    """The package's own roles and demo users, without any workspace's override (what the
    manual describes: docs/dashboard.md)."""
    return config.declared("roles", RolesConfig, with_workspace=False)


def sign_ins(home=None) -> list[dict]:
    """The demo sign-ins (users with a `demo_password`): user, password, role, the page it lands
    on and who it is, in declaration order."""
    from chengxin import i18n

    cfg = roles_config(home)
    return [{"user": u.username, "password": u.demo_password, "role": u.role, "role_zh": cfg.roles[u.role].zh,
             "role_en": cfg.roles[u.role].en, "lands_on": i18n.TEXT[f"page_{cfg.roles[u.role].home_page}"],
             "who": " ".join(dict.fromkeys(filter(None, (u.display, u.display_en))))} for u in cfg.users.values() if u.demo_password]


def role(name: str | None, home=None) -> Role:
    cfg = roles_config(home)
    return cfg.roles.get(name or PUBLIC, cfg.roles[PUBLIC])


def may_supervise(r: Role, department: str | None = None, home=None) -> bool:
    """May this caller see risk classes and inspection plans (信用风险分类, an internal tool of the
    departments that inspect: 不公开)? The role needs the `supervision` right; a department's role
    (`DEPARTMENT`) has it only for a department that inspects: `department` (a dashboard user's
    `department:`, an API key's institution) is the Chinese name of a department of
    departments.yaml with an inspector roster. The one rule every face reads through the read
    model (`chengxin.readmodel.supervision`)."""
    if not r.supervision:
        return False
    if r.name != DEPARTMENT:
        return True
    name = (department or "").strip()
    return any(d.zh == name and d.inspectors for d in config.departments(home).departments.values())


class LockedOut(workspace.UserError):
    """Too many failed sign-ins for one user name from one client (or from everywhere): refused
    for a while, even with the right password."""


def authenticate(username: str, password: str, home=None, client: str | None = None) -> User | None:
    """The user when the password matches its bcrypt hash, else None. Every attempt is recorded
    (the shared state's `logins`, with `client`: the address it came from, '' or None when
    unknown). Guessing stops in two ways (LockedOut, before the password is checked):

    - `login_max_failures` failures for a name from one client within `login_lockout_minutes`
      (since that client's last success) lock the name for that client only: a stranger's
      failures never lock the name for its user on another client;
    - `login_max_failures_all_clients` (much higher) failures for a name from all clients
      together within the window (since the name's last success anywhere) lock the name for
      every client it was never signed in from successfully: guessing from many addresses
      stops too, while its user's known clients keep their own limit only.

    Clients are told apart by address alone (`ui.client`: the address that connected, or the
    one a proxy named in `dashboard.trusted_proxies` forwarded): people behind one address (an
    office's NAT, or an unnamed proxy) share its limit."""
    import bcrypt

    from chengxin.desks import signins

    name = (username or "").strip()
    client = (client or "").strip()[:200]
    limits = config.settings(home).dashboard
    window = limits.login_lockout_minutes
    locked = signins.failed_logins(name, window, home, client=client) >= limits.login_max_failures
    if not locked and signins.failed_logins(name, window, home) >= limits.login_max_failures_all_clients:
        locked = not signins.known_client(name, client, home)
    if locked:
        raise LockedOut(f"too many failed sign-ins for {name!r}: try again in {window} minutes")
    user = roles_config(home).users.get(name)
    hashed = user.password_bcrypt if user else _DUMMY
    ok = bcrypt.checkpw((password or "").encode("utf-8"), hashed.encode("ascii")) and user is not None
    signins.record_login(name, ok, home, client=client)
    return user if ok else None


def hash_password(password: str) -> str:
    """A bcrypt hash for users.yaml."""
    import bcrypt

    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(12)).decode("ascii")


# --- masking ------------------------------------------------------------------------------


def show_id(subject_id: str, subject_type: str, r: Role) -> str:
    if subject_type == "individual" and r.masked:
        return identifiers.mask_resident_id(subject_id)
    return subject_id


def show_name(name, subject_type: str, r: Role):
    if subject_type == "individual" and r.masked:
        return identifiers.mask_name(name)
    return name


def personal_columns(source: str) -> list[str]:
    """Columns of a source that hold personal data (declared `personal`, or an individual's ID)."""
    src = config.sources()[source]
    return [c.name for c in src.columns if c.personal or (c.type == "code" and c.subject == "individual")]


def mask_frame(frame: pd.DataFrame, r: Role, *, source: str | None = None, id_col: str = "subject_id",
               type_col: str = "subject_type", name_col: str | None = "name") -> pd.DataFrame:
    """A copy of `frame` with personal data masked as the role requires: individuals' IDs and
    names, and the source's personal columns."""
    if not r.masked or frame.empty:
        return frame
    out = frame.copy()
    people = out[type_col].eq("individual") if type_col in out else pd.Series(False, index=out.index)
    if id_col in out:
        out[id_col] = out[id_col].astype(object)
        out.loc[people, id_col] = out.loc[people, id_col].map(identifiers.mask_resident_id)
    if name_col and name_col in out:
        out[name_col] = out[name_col].astype(object)
        out.loc[people, name_col] = out.loc[people, name_col].map(identifiers.mask_name)
    for col in personal_columns(source) if source else []:
        if col in out and col != id_col:
            out[col] = out[col].map(mask_personal)
    return out


def mask_personal(value):
    """A value of a personal column, masked: an ID number as 610302********123X, a name as 张**."""
    if not isinstance(value, str):
        return value
    return identifiers.mask_resident_id(value) if len(value) >= 15 else identifiers.mask_name(value)
