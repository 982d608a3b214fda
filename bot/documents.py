"""A dispute response's documents as plain data: the limits a processor puts on them, a file as
Slack describes it before download, its bytes, the copy kept with the draft, and what was sent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentLimits:
    """What a processor takes as a dispute response's documents, and where that is written."""

    count: int
    each: int  # bytes per file
    total: int  # bytes in all
    types: tuple[str, ...]  # file extensions, lower case
    source: str

    def said(self, size: int) -> str:
        return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.0f} kB"


# The strictest limits known (Payrix's, as the firm's portal quotes them): the default for any
# processor that does not say otherwise. A megabyte is read as 1,000,000 bytes, the stricter way.
STRICTEST_LIMITS = DocumentLimits(
    count=8,
    each=1_000_000,
    total=8_000_000,
    types=("pdf", "png", "jpg", "jpeg"),
    source="Payrix, as the portal quotes it: 8 documents, 1 MB each, 8 MB in all",
)
MIMETYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}


UPLOADED_BLOCK = "documents"  # the Respond modal's file_input block
THREAD_BLOCK = "thread_documents"  # the thread's files offered to attach


@dataclass(frozen=True)
class OfferedFile:
    """A file as Slack described it (file_input state or files.info), before any download.
    ``block_id`` is where it was picked, so a refusal shows beside that field."""

    slack_id: str
    name: str
    size: int
    url: str
    block_id: str = UPLOADED_BLOCK


@dataclass(frozen=True)
class DocumentFile:
    """A document's bytes, as the bot downloaded them from Slack, to send to the processor."""

    name: str
    mimetype: str
    content: bytes


@dataclass(frozen=True)
class EvidenceDocument:
    """A document kept with a dispute response (its bytes stay in the database), and the id
    the processor gave it once uploaded (None until then)."""

    id: str
    response_id: str
    position: int
    name: str
    mimetype: str
    size: int
    sha256: str
    processor_id: str | None = None


@dataclass(frozen=True)
class SentDocument:
    """A document already at the processor, as the evidence submission names it."""

    processor_id: str
    name: str


def kind_of(name: str) -> str:
    """A file's type as the limits name it: its extension, lower case ("" without one)."""
    return name.rsplit(".", 1)[-1].casefold() if "." in name else ""
