"""Dispute documents at the sandbox processor: kept as sent (one per upload key), checked against
the limits the sandbox shares with the strictest processor, and listed by `paybot sandbox show`."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.db.dml import insert_or_ignore
from bot.db.engine import SessionFactory
from bot.documents import (
    STRICTEST_LIMITS,
    DocumentFile,
    DocumentLimits,
    SentDocument,
    kind_of,
)
from bot.errors import ProcessorError
from bot.processors.sandbox.models import SandboxDispute, SandboxDisputeDocument
from bot.processors.sandbox.records import make_id

LIMITS: DocumentLimits = STRICTEST_LIMITS


def refusal(document: DocumentFile, limits: DocumentLimits = LIMITS) -> str | None:
    """Why a processor with these limits would refuse this file, if it would."""
    kind = kind_of(document.name)
    if kind not in limits.types:
        return f"{document.name} is not a {', '.join(limits.types)} file"
    if len(document.content) > limits.each:
        return f"{document.name} is over {limits.said(limits.each)}"
    return None


async def upload(
    sessions: SessionFactory,
    rng: random.Random,
    now: datetime,
    dispute_id: str,
    document: DocumentFile,
    key: str,
) -> str:
    """Keep the file; the same key answers with the first upload's id."""
    why = refusal(document)
    if why:
        raise ProcessorError(f"The sandbox refuses {why}.")
    async with sessions.begin() as session:
        if await session.get(SandboxDispute, dispute_id) is None:
            raise ProcessorError(f"There is no dispute {dispute_id}.")
        await insert_or_ignore(
            session,
            SandboxDisputeDocument,
            {
                "id": make_id(rng, "doc"),
                "dispute_id": dispute_id,
                "upload_key": key,
                "name": document.name,
                "mimetype": document.mimetype,
                "size": len(document.content),
                "sha256": hashlib.sha256(document.content).hexdigest(),
                "content": document.content,
                "created_at": now,
            },
            ["upload_key"],
        )
        found = await session.scalar(
            select(SandboxDisputeDocument.id).where(SandboxDisputeDocument.upload_key == key)
        )
    return str(found)


async def check_sent(
    sessions: SessionFactory, dispute_id: str, documents: Sequence[SentDocument]
) -> list[str]:
    """The ids of documents named in a submission, each one uploaded for this dispute, within
    the count and total the sandbox takes."""
    ids = [d.processor_id for d in documents]
    if len(ids) > LIMITS.count:
        raise ProcessorError(f"The sandbox takes at most {LIMITS.count} documents a response.")
    async with sessions() as session:
        rows = (
            await session.execute(
                select(SandboxDisputeDocument.id, SandboxDisputeDocument.size).where(
                    SandboxDisputeDocument.id.in_(ids),
                    SandboxDisputeDocument.dispute_id == dispute_id,
                )
            )
        ).all()
    known = {row.id: row.size for row in rows}
    missing = [i for i in ids if i not in known]
    if missing:
        raise ProcessorError(f"No document {', '.join(missing)} was uploaded for {dispute_id}.")
    if sum(known.values()) > LIMITS.total:
        raise ProcessorError(f"The documents are over {LIMITS.said(LIMITS.total)} in all.")
    return ids


async def listed(sessions: SessionFactory, dispute_id: str) -> list[dict[str, Any]]:
    """What `paybot sandbox show` tells of a dispute's documents (never their bytes)."""
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(SandboxDisputeDocument)
                .where(SandboxDisputeDocument.dispute_id == dispute_id)
                .order_by(SandboxDisputeDocument.created_at, SandboxDisputeDocument.id)
            )
        ).all()
    return [
        {
            "id": row.id,
            "name": row.name,
            "mimetype": row.mimetype,
            "size": row.size,
            "sha256": row.sha256,
            "uploaded_at": row.created_at.isoformat(),
        }
        for row in rows
    ]
