"""Configuration: the declarations and settings in ``chengxin/conf``, validated with pydantic.

Every file in ``chengxin/conf/*.yaml`` is read by one loader, `declared`, and validated by its
schema. A workspace may change the files `DECLARATIONS` names a workspace file for (its settings
and its roles and users) by one rule, `merge`: the workspace's file goes over the package's,
mappings key by key; anything else (a list, a number, a text) is replaced whole, and so are the
sections a declaration names `replaced_whole` (a workspace's `users` replace the demo accounts,
never add to them).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
import typing
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from dataclasses import dataclass

from chengxin import workspace

SubjectType = Literal["enterprise", "individual"]
SUBJECT_TYPES: tuple[str, ...] = typing.get_args(SubjectType)  # every subject type, in this order


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Words(Strict):
    """A text in both languages of the platform."""
    zh: str = Field(description="in Chinese")
    en: str = Field(description="in English")


# --- record sources ----------------------------------------------------------------


class Column(Strict):
    name: str
    zh: str
    type: Literal["code", "text", "enum", "int", "float", "bool", "date", "month"]
    required: bool = True
    values: tuple[str, ...] = ()
    min: float | None = None
    pattern: str | None = None
    personal: bool = False
    # For `code` columns other than subject_id: which identifier it holds.
    subject: SubjectType | None = None
    # A law a decision cites: one the department named in this column enforces (departments.yaml),
    # else the row is held for review
    enforced_by: str | None = None

    @model_validator(mode="after")
    def _enum_has_values(self):
        if self.type == "enum" and not self.values:
            raise ValueError(f"enum column {self.name!r} needs values")
        return self


class Department(Strict):
    en: str
    zh: str


class Source(Strict):
    name: str
    zh: str
    department: Department
    subjects: tuple[SubjectType, ...]
    grain: Literal["entity", "monthly", "event", "reference"]
    event_date: str
    key: tuple[str, ...]
    description: str
    columns: tuple[Column, ...]
    seasonal: bool = False
    # a decision published for the public within a deadline (双公示): the source carries the
    # decision's date (`event_date`) and `publication_date`, and coverage measures lateness
    double_publicity: bool = False
    # its own deadline for that publication, in working days (else settings.yaml coverage's)
    publication_due_working_days: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _columns_known(self):
        names = [c.name for c in self.columns]
        for needed in (*self.key, self.event_date, "subject_id"):
            if needed not in names:
                raise ValueError(f"source {self.name}: {needed!r} is not one of its columns")
        if self.double_publicity and "publication_date" not in names:
            raise ValueError(f"source {self.name} is under double publicity and needs publication_date")
        if len(self.subjects) > 1 and "subject_type" not in names:
            raise ValueError(f"source {self.name} serves both subject types and needs subject_type")
        return self

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def due_working_days(self, coverage: CoverageSettings) -> int:
        """Working days its decisions or results are due to be published in: its own deadline
        (inspection results: 20) or the double-publicity default of the coverage settings (7)."""
        return self.publication_due_working_days or coverage.publication_due_working_days

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def table(self) -> str:
        return f"rec_{self.name}"

    @property
    def is_reference(self) -> bool:
        return self.grain == "reference"


class SourceCatalogue(Strict):
    version: int
    sources: dict[str, Source]

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data):
        for name, body in data.get("sources", {}).items():
            body.setdefault("name", name)
        return data

    def __iter__(self):
        return iter(self.sources.values())

    def __getitem__(self, name: str) -> Source:
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(self.sources)
            raise KeyError(f"unknown source {name!r}; known sources: {known}") from None

    def for_subject(self, subject_type: str) -> list[Source]:
        return [s for s in self if subject_type in s.subjects and not s.is_reference]


# --- the city ------------------------------------------------------------------------


class County(Strict):
    code: str
    en: str
    zh: str
    weight: float


class Industry(Strict):
    section: str
    en: str
    zh: str
    weight: float
    risk: float
    size: float
    words: tuple[str, ...] = Field(min_length=1)  # how a firm of the industry says what it does in its name


class NameForm(Strict):
    suffix: str  # the organisational form closing a firm's name (有限公司, 经营部, 专业合作社 …)
    weight: float = Field(gt=0)


class Naming(Strict):
    """How the synthetic city names its subjects (city.yaml `naming`, `chengxin/city/naming.py`)."""
    trade_characters: str = Field(min_length=10)
    county_place_share: float = Field(ge=0, le=1)
    forms: dict[str, tuple[NameForm, ...]]
    surnames: dict[str, float]
    given: dict[Literal["male", "female"], str]
    given_two_share: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _no_digits(self):
        for text in (self.trade_characters, *self.given.values(), *self.surnames):
            if any(ch.isdigit() or ch.isascii() for ch in text):
                raise ValueError(f"names are made of Chinese characters only: {text!r}")
        if len(set(self.trade_characters)) != len(self.trade_characters):
            raise ValueError("trade_characters repeats a character")
        return self


class City(Strict):
    name: Department
    city_division: str
    counties: tuple[County, ...]
    industries: tuple[Industry, ...]
    naming: Naming

    def county_name(self, code: str, lang: str = "zh") -> str:
        for c in self.counties:
            if c.code == code:
                return getattr(c, lang)
        return code


# --- settings ------------------------------------------------------------------------


_MEMORY = r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"


class WarehouseSettings(Strict):
    memory_limit_write: str = Field("2GB", pattern=_MEMORY)
    memory_limit_read: str = Field("5GB", pattern=_MEMORY)


class SparkSettings(Strict):
    master: str = "local[2]"
    shuffle_partitions: int = Field(8, gt=0)


class IngestSettings(Strict):
    uscc_allowlist: tuple[str, ...] = ()
    encoding_sniff_bytes: int = Field(65_536, gt=0)
    read_ahead: int = Field(2, ge=1, le=8)
    date_formats: tuple[str, ...]
    month_formats: tuple[str, ...]
    earliest_date: str
    latest_date: str


class CoverageSettings(Strict):
    publication_due_working_days: int = Field(7, gt=0)
    expected_window_months: int = Field(6, gt=0)
    missing_below_share: float = Field(0.2, ge=0, le=1)
    min_expected_records: float = Field(5, ge=0)


class DashboardSettings(Strict):
    # Where people open the MLflow UI (`mlflow ui --backend-store-uri sqlite:///$CHENGXIN_HOME/mlflow.db`);
    # the dashboard links each model's run there.
    mlflow_ui_url: str | None = None  # where an MLflow UI runs, once someone starts one: the models page links there
    # Dashboard snapshots kept besides the current one.
    snapshots_kept: int = Field(2, ge=0)
    # Monthly sources: months of records shown behind a look-up.
    records_months: int = Field(24, gt=0)
    # Long lists (the public ratings list, the red and black lists): rows shown on the page; filters
    # narrow them and the downloads hold every row.
    table_rows: int = Field(2000, gt=0)
    # Sign-in: this many failed attempts for one user name from one client (address) within the
    # window lock the name for that client for the window; this many from all clients together lock
    # it for every client that never signed in to it successfully (guessing from many addresses).
    login_max_failures: int = Field(5, gt=0)
    login_max_failures_all_clients: int = Field(50, gt=0)
    login_lockout_minutes: int = Field(15, gt=0)
    # Proxies in front of the dashboard whose X-Forwarded-For is believed (addresses or networks;
    # the dashboard's own machine is 127.0.0.1): none by default, so a sign-in's client is the
    # address that connected, which no header changes.
    trusted_proxies: tuple[str, ...] = ()
    # Public comments on the criteria: at most this many from everyone in an hour (a spam guard).
    comments_per_hour: int = Field(60, gt=0)

    @model_validator(mode="after")
    def _proxies(self):
        import ipaddress

        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"dashboard.trusted_proxies: {proxy!r} is not an address or network") from None
        return self


class ApiSettings(Strict):
    # A request body larger than this is refused with 413 before it is read (a batch of 10,000
    # ids is about 250 kB).
    max_body_bytes: int = Field(2_097_152, ge=1024)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks);
    # none by default: the public's quota counts the address that connected, which no header changes.
    trusted_proxies: tuple[str, ...] = ()


class Downturn(Strict):
    start_fraction: float = Field(ge=0, le=1)
    months: int = Field(ge=0)
    depth: float


class LagRange(Strict):
    min: int = Field(ge=1)
    max: int = Field(ge=1, le=12)

    @model_validator(mode="after")
    def _ordered(self):
        if self.min > self.max:
            raise ValueError("outcome_lag_months: min must not exceed max")
        return self


class Mess(Strict):
    late_department_share: float = Field(ge=0, le=1)
    late_county_month_share: float = Field(ge=0, le=1)
    skipped_county_month_share: float = Field(ge=0, le=1)
    duplicate_row_share: float = Field(ge=0, le=1)
    resent_file_share: float = Field(ge=0, le=1)
    corrected_record_share: float = Field(ge=0, le=1)
    mistyped_code_share: float = Field(ge=0, le=1)
    fullwidth_share: float = Field(ge=0, le=1)
    old_regno_share: float = Field(ge=0, le=1)
    bad_value_share: float = Field(ge=0, le=1)
    # penalties citing a law their department does not enforce (ingestion holds them for review)
    wrong_legal_basis_share: float = Field(0.0, ge=0, le=1)
    # A-grade taxpayer honours resting on no A grade of the tax bureau (the consistency check finds them)
    stale_honour_share: float = Field(0.0, ge=0, lt=1)


class GeneratorSettings(Strict):
    persistence: float = Field(gt=0, lt=1)
    innovation_sd: float = Field(gt=0)
    jump_probability: float = Field(ge=0, le=1)
    jump_size: float
    sector_shock_sd: float = Field(ge=0)
    county_shock_sd: float = Field(ge=0)
    downturn: Downturn
    representative_link: float = Field(ge=0, le=1)
    distress_base_logit: dict[SubjectType, float]
    distress_slope: float
    outcome_given_distress: float = Field(ge=0, le=1)
    outcome_lag_months: LagRange
    distress_visible_at_onset: float = Field(ge=0, le=1)
    burn_in_months: int = Field(ge=0)
    new_firm_share: float = Field(ge=0, le=1)
    mess: Mess
    formats: dict[str, Literal["csv-utf8", "csv-gbk", "xlsx"]]
    xlsx_max_rows: int = Field(gt=0)
    chunk_subjects: int = Field(gt=0)

    def format_for(self, source: str) -> str:
        return self.formats.get(source, self.formats["default"])


class Settings(Strict):
    warehouse: WarehouseSettings = WarehouseSettings()
    spark: SparkSettings = SparkSettings()
    ingest: IngestSettings
    coverage: CoverageSettings
    generator: GeneratorSettings
    dashboard: DashboardSettings = DashboardSettings()
    api: ApiSettings = ApiSettings()


# --- loading: one loader, one rule ------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """A file of ``chengxin/conf``; `workspace_file`: the workspace's file merged over it, if
    any; `replaced_whole`: top-level sections the workspace's file replaces instead of merging."""

    file: str
    workspace_file: str | None = None
    replaced_whole: tuple[str, ...] = ()


DECLARATIONS = {d.file.removesuffix(".yaml"): d for d in (
    Declaration("sources.yaml"), Declaration("city.yaml"), Declaration("features.yaml"), Declaration("rating.yaml"), Declaration("evaluation.yaml"),
    Declaration("repair.yaml"), Declaration("warnings.yaml"), Declaration("lists.yaml"), Declaration("measures.yaml"),
    Declaration("settings.yaml", workspace_file="settings.yaml"), Declaration("cases.yaml", workspace_file="cases.yaml"),
    Declaration("reports.yaml", workspace_file="reports.yaml"),
    Declaration("departments.yaml", workspace_file="departments.yaml"),
    Declaration("supervision.yaml", workspace_file="supervision.yaml"),
    Declaration("roles.yaml", workspace_file="users.yaml", replaced_whole=("users",)),
)}


def merge(base: dict, override: dict, replaced_whole: tuple[str, ...] = ()) -> dict:
    """The one override rule: `override` over `base`, mappings key by key, anything else (and
    the top-level sections in `replaced_whole`) replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        if key not in replaced_whole and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(text: str, where) -> dict:
    """A YAML document as a mapping; invalid YAML is the user's error, naming the file."""
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise workspace.UserError(f"{where} is not valid YAML: {exc}") from None


def declared(name: str, schema: type[BaseModel], home: Path | None = None, *, with_workspace: bool = True):
    """The declaration `name` (a key of `DECLARATIONS`) validated by `schema`: the package's file,
    and, when `with_workspace` and the declaration has one, the workspace's file merged over it.
    Cached until either file changes."""
    override = _workspace_file(name, workspace.home(home)) if with_workspace else None
    stamp = workspace.stamp(override) if override is not None else None
    return _declared(name, schema, override if stamp is not None else None, stamp)


def fingerprint(name: str, home: Path | None = None) -> str:
    """A short digest of the declaration `name` as read (the package's file and the workspace's
    over it): what a stage that reads it records among its inputs, so a changed declaration is
    a changed input."""
    import hashlib

    h = hashlib.sha256(resources.files("chengxin.conf").joinpath(DECLARATIONS[name].file).read_bytes())
    override = _workspace_file(name, workspace.home(home))
    if override is not None and Path(override).exists():
        h.update(Path(override).read_bytes())
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=256)
def _workspace_file(name: str, home: Path) -> str | None:
    d = DECLARATIONS[name]
    return str(home / d.workspace_file) if d.workspace_file else None


@functools.lru_cache(maxsize=64)
def _declared(name: str, schema: type[BaseModel], override: str | None, _stamp: tuple | None):
    d = DECLARATIONS[name]
    package = resources.files("chengxin.conf").joinpath(d.file)
    data = read_yaml(package.read_text("utf-8"), package)
    if override is not None:
        data = merge(data, read_yaml(Path(override).read_text("utf-8"), override), d.replaced_whole)
    return schema.model_validate(data)


class DecidingDepartment(Strict):
    """A department that decides penalties and grants licences (departments.yaml)."""
    zh: str  # the name it decides under (a penalty's or licence's `deciding_department`)
    en: str
    short: str = Field(min_length=1)  # its decision numbers start with it: 宝市监罚〔2025〕12号
    laws: tuple[str, ...] = Field(min_length=1)  # the laws it enforces: a penalty cites one of them
    licences: tuple[str, ...] = ()  # the licences it grants
    inspectors: tuple[str, ...] = ()  # its roster for random inspections (双随机)

    def decision_number(self, year: int, number: int) -> str:
        """A penalty decision's number in this department's form."""
        return f"{self.short}罚〔{year}〕{number}号"


class Departments(Strict):
    departments: dict[str, DecidingDepartment]

    @model_validator(mode="after")
    def _distinct(self):
        for what in ("zh", "short"):
            seen = [getattr(d, what) for d in self.departments.values()]
            if len(set(seen)) != len(seen):
                raise ValueError(f"two departments share a {what}")
        return self

    def by_name(self) -> dict[str, DecidingDepartment]:
        """Each department by the name it decides under."""
        return {d.zh: d for d in self.departments.values()}


def departments(home: Path | None = None) -> Departments:
    return declared("departments", Departments, home)


# --- risk-classified supervision ------------------------------------------------------


class ViolationKind(Strict):
    """A kind of violation inspectors look for, and how the synthetic city hides it (supervision.yaml)."""
    zh: str
    en: str
    department: str  # the departments.yaml key whose inspectors check it
    severity: Literal["general", "serious"]
    detection: float = Field(gt=0, le=1)
    start_logit: float
    mean_months: float = Field(ge=1)
    young_shift: float = 0.0
    sections: dict[str, float] = {}


class Propensity(Strict):
    stress_weight: float = Field(ge=0, le=1)
    slope: float = Field(ge=0)
    young_years: float = Field(ge=0)


class Unreachable(Strict):
    closed: float = Field(ge=0, le=1)
    live: float = Field(ge=0, le=1)
    hiding: float = Field(ge=0, le=1)


class ResultLag(Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=0)
    late_share: float = Field(ge=0, le=1)
    late_max: int = Field(ge=0)


class RiskClass(Strict):
    zh: str
    en: str
    share: float = Field(gt=0, lt=1)
    yearly_ratio: float = Field(gt=0, le=1)  # never zero: no class is exempt from the lottery (不免抽)


class Conflict(Strict):
    inspector: str
    subject_id: str
    reason: str = ""


class Signal(Strict):
    """A signal of the risk score: its weight and, as a class's reason, its words."""
    weight: float
    zh: str
    en: str


class Supervision(Strict):
    violations: dict[str, ViolationKind]
    propensity: Propensity
    unreachable: Unreachable
    baseline_yearly_share: float = Field(ge=0, le=1)
    result_lag_working_days: ResultLag
    lead_department: str
    inspectors_per_inspection: int = Field(ge=1)
    skip_recent_months: int = Field(ge=0)
    conflicts: tuple[Conflict, ...] = ()
    classes: dict[str, RiskClass]
    signals: dict[str, Signal]
    alert_severity: dict[str, float]
    conduct_indicators: tuple[str, ...]
    sector_prior: float = Field(ge=0)
    rules_indicators: tuple[str, ...]

    @model_validator(mode="after")
    def _consistent(self):
        if abs(sum(c.share for c in self.classes.values()) - 1) > 1e-6:
            raise ValueError("supervision.yaml: the classes' shares must add up to 1")
        return self

    def kinds_of(self, department: str | None) -> list[str]:
        """The violation kinds a department's inspectors check (every kind for a joint inspection)."""
        return [k for k, v in self.violations.items() if department is None or v.department == department]


def supervision(home: Path | None = None) -> Supervision:
    return declared("supervision", Supervision, home)


def sources() -> SourceCatalogue:
    return declared("sources", SourceCatalogue)


def city() -> City:
    return declared("city", City)


def settings(home: Path | None = None) -> Settings:
    return declared("settings", Settings, home)
