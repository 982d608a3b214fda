"""A dispute response's documents: checked against the processor's limits before anything is
downloaded, kept in the database with the draft, and uploaded to the processor once each (the
processor's id is recorded per document, so a retry or a crash uploads nothing twice)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.engine import SessionFactory
from bot.db.models import DisputeDocument
from bot.documents import (
    MIMETYPES,
    DocumentFile,
    DocumentLimits,
    EvidenceDocument,
    OfferedFile,
    SentDocument,
    kind_of,
)
from bot.errors import FormErrors
from bot.pan import random_id
from bot.processors.gateway import Gateway
from bot.usertext import visible


def check_files(files: Sequence[OfferedFile], limits: DocumentLimits) -> None:
    """Each limit the files break, beside the field they were picked in, naming the file and
    the limit (``response_action: errors``). Checked on what Slack says of the files, so the
    answer comes before anything is downloaded."""
    errors: dict[str, list[str]] = {}

    def refuse(block_id: str, text: str) -> None:
        errors.setdefault(block_id, []).append(text)

    types = ", ".join(t.upper() for t in limits.types if t != "jpeg")
    for offered in files:
        name = visible(offered.name) or offered.slack_id
        if kind_of(offered.name) not in limits.types:
            refuse(offered.block_id, f"{name}: only {types} files are taken.")
        elif offered.size > limits.each:
            refuse(
                offered.block_id,
                f"{name} is {limits.said(offered.size)}: over the {limits.said(limits.each)} "
                "a file the processor takes.",
            )
    if len(files) > limits.count:
        extra = files[limits.count :]
        names = ", ".join(visible(f.name) for f in extra)
        refuse(
            extra[0].block_id,
            f"{len(files)} documents: the processor takes {limits.count} at most, "
            f"so {names} cannot go.",
        )
    total = sum(f.size for f in files)
    if total > limits.total and len(files) <= limits.count:
        refuse(
            files[-1].block_id,
            f"The documents come to {limits.said(total)}: over the {limits.said(limits.total)} "
            f"in all the processor takes (with {visible(files[-1].name)}).",
        )
    if errors:
        raise FormErrors({block: " ".join(texts)[:2000] for block, texts in errors.items()})


def checked_download(offered: OfferedFile, content: bytes, limits: DocumentLimits) -> DocumentFile:
    """The bytes Slack sent must be the file it described (and still within the limit)."""
    if len(content) != offered.size or len(content) > limits.each:
        raise FormErrors(
            {
                offered.block_id: f"{visible(offered.name)} changed while it was read; attach it again."
            }
        )
    return DocumentFile(offered.name, MIMETYPES[kind_of(offered.name)], content)


class EvidenceDocuments:
    def __init__(self, sessions: SessionFactory, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def rows(
        self, response_id: str, files: Sequence[tuple[OfferedFile, DocumentFile]]
    ) -> list[DisputeDocument]:
        """The documents of a new draft, stored in the draft's own transaction."""
        now = self._clock()
        return [
            DisputeDocument(
                id=random_id(),
                response_id=response_id,
                position=position,
                name=document.name[:255],
                mimetype=document.mimetype,
                size=len(document.content),
                sha256=hashlib.sha256(document.content).hexdigest(),
                content=document.content,
                slack_file_id=offered.slack_id,
                created_at=now,
            )
            for position, (offered, document) in enumerate(files)
        ]

    async def of(self, response_id: str) -> list[EvidenceDocument]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(DisputeDocument)
                    .where(DisputeDocument.response_id == response_id)
                    .order_by(DisputeDocument.position)
                )
            ).all()
        return [
            EvidenceDocument(
                row.id,
                row.response_id,
                row.position,
                row.name,
                row.mimetype,
                row.size,
                row.sha256,
                row.processor_id,
            )
            for row in rows
        ]

    async def file(self, document: EvidenceDocument) -> DocumentFile:
        """A kept document's bytes (read one at a time: a response holds 8 MB at most)."""
        async with self._sessions() as session:
            content = await session.scalar(
                select(DisputeDocument.content).where(DisputeDocument.id == document.id)
            )
        if content is None:
            raise LookupError(f"document {document.id} is gone")
        return DocumentFile(document.name, document.mimetype, bytes(content))

    async def upload(
        self, gateway: Gateway, dispute_id: str, response_id: str, key: str
    ) -> list[SentDocument]:
        """Each document not yet at the processor, uploaded under a key of its own and its id
        recorded at once: after a crash only what has no id is sent again, and the processor
        answers a repeated key with the first upload (Stripe's idempotency, Payrix's request
        token and the key in the record, the sandbox's unique key)."""
        sent: list[SentDocument] = []
        for document in await self.of(response_id):
            processor_id = document.processor_id
            if processor_id is None:
                processor_id = await gateway.upload_dispute_document(
                    dispute_id,
                    await self.file(document),
                    idempotency_key=f"{key}-doc-{document.position}",
                )
                await self.uploaded(document.id, processor_id)
            sent.append(SentDocument(processor_id, document.name))
        return sent

    async def uploaded(self, document_id: str, processor_id: str) -> None:
        """Record the processor's id once; a second recording (another worker) changes nothing."""
        async with self._sessions.begin() as session:
            await _set_uploaded(session, document_id, processor_id, self._clock)


async def _set_uploaded(
    session: AsyncSession, document_id: str, processor_id: str, clock: Clock
) -> None:
    await session.execute(
        update(DisputeDocument)
        .where(DisputeDocument.id == document_id, DisputeDocument.processor_id.is_(None))
        .values(processor_id=processor_id, uploaded_at=clock())
    )
