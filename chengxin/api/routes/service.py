"""The service itself: health (the snapshot answered from) and a constant ping."""

from typing import Annotated

from fastapi import APIRouter, Depends

from chengxin import readmodel
from chengxin.api.access import snapshot
from chengxin.api.shapes import Health, Pong

router = APIRouter(tags=["service"])


@router.get("/v1/health", operation_id="get_health", response_model=Health)
def get_health(snap: Annotated[readmodel.Snapshot, Depends(snapshot)]) -> dict:
    """The snapshot this server answers from (no key needed)."""
    return {"status": "ok", "snapshot": snap.id, "created": snap.manifest.get("created_at"),
            "as_of": {s: str(snap.as_of(s)) if snap.as_of(s) else None for s in readmodel.SUBJECTS}}


@router.get("/v1/ping", operation_id="ping", response_model=Pong)
async def ping() -> dict:
    """A constant answer: what the server costs with nothing read (load balancers; the
    benchmark's baseline)."""
    return {"pong": True}
