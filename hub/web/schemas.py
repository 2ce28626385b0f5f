"""Request bodies, shared by the JSON API (JSON) and the pages (HTML forms, ``Form()``).

An empty form field means "not given"; money stays ``Decimal``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, SecretStr

T = TypeVar("T")


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


Opt = Annotated[T | None, BeforeValidator(_blank_to_none)]


class CardIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: str
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)


class CardSettingsIn(BaseModel):
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description="only the secrets to change")


class SyncIn(BaseModel):
    full: bool = False


class ReasonCodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    types: list[str] = Field(min_length=1)
    default_for: list[str] = Field(default_factory=list)
    description: Opt[str] = None


class ProgramTypeIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    period_type: str = "Rolling"
    subscription_type: str = "Per Unit"


class PlanIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    connector: str = Field(min_length=1, description="the ERP connector card")
    customer: str = Field(min_length=1, description="the ERP customer's id")
    program_type: str = Field(min_length=1)
    billing_period_type: str = "Monthly"
    billing_period_unit: Opt[str] = None
    billing_period_length: Opt[int] = None
    global_start: Opt[date] = None
    global_end: Opt[date] = None
    fixed_cycles: Opt[int] = None
    automatic_renewal: bool = False
    renewal_notice_days: Opt[int] = Field(default=None, description="create a renewal notice N days before the end")
    reason_code: Opt[str] = None
    salesperson: Opt[str] = None
    pays_by_mandate: bool = False


class PlanEditIn(BaseModel):
    """A Draft plan's terms (every field is written, as on the edit form)."""

    name: str = Field(min_length=1, max_length=200)
    global_start: date
    global_end: Opt[date] = None
    fixed_cycles: Opt[int] = None
    automatic_renewal: bool = False
    renewal_notice: bool = False
    renewal_notice_days: int = 30
    reason_code: Opt[str] = None
    salesperson: Opt[str] = None
    pays_by_mandate: bool = False


class LineIn(BaseModel):
    product: str = Field(min_length=1, max_length=64)
    quantity: Decimal
    sales_price: Decimal
    currency: str = Field(default="USD", min_length=3, max_length=8)
    start: Opt[date] = None
    end: Opt[date] = None
    one_time_fee: bool = False
    is_addon: bool = False
    discount_amount: Decimal = Decimal("0")
    discount_percent: Decimal = Decimal("0")
    unit: Opt[str] = None
    reason_code: Opt[str] = None


class CreditIn(BaseModel):
    start_on: date
    reason_code: str = Field(min_length=1)
    all_cycles: bool = False
    periods: Opt[int] = None
    disable_line: bool = False
    today: Opt[date] = None


class ActionEditIn(BaseModel):
    quantity: Opt[Decimal] = None
    sales_price: Opt[Decimal] = None
    discount_amount: Opt[Decimal] = None
    discount_percent: Opt[Decimal] = None
    action_date: Opt[date] = None
    reason_code: Opt[str] = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ActionIdsIn(BaseModel):
    ids: list[int] = Field(default_factory=list, description="action ids (firm/post: empty means every due one)")


class BulkActionIn(ActionIdsIn):
    operation: Literal["firm", "post", "cancel"]


class BillingRunIn(BaseModel):
    test_date: Opt[date] = None
    dry_run: bool = False


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=255)
    password: SecretStr
    role: str = "User"
    name: Opt[str] = None


class UserEditIn(BaseModel):
    role: Opt[str] = None
    active: bool | None = None
    password: SecretStr | None = None


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
