"""The demo's dispute response with a document: a chargeback opened as the bot starts (so it is
announced), answered by a staff member with a one-page engagement letter (a real PDF, made here),
the draft and its letter waiting in the dispute's thread for a manager."""

from __future__ import annotations

from bot.documents import (
    DocumentFile,
    OfferedFile,
)
from bot.domain import (
    Account,
    MethodType,
    Money,
    PaymentKind,
    Source,
)
from bot.processors.sandbox import SandboxSimulator
from bot.store import Store

LETTER_LINES = (
    "Engagement letter",
    "The client engages the firm for advice on the matter named in the invoice.",
    "Fees are billed hourly; the client authorised payment by card on signing.",
    "Signed by the client on the first day of the engagement.",
)


def engagement_letter() -> bytes:
    """A minimal PDF 1.4 with one page of text and a correct cross-reference table."""
    text = " ".join(
        f"({line}) Tj 0 -18 Td"
        for line in (s.replace("(", "[").replace(")", "]") for s in LETTER_LINES)
    )
    stream = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        table,
    )
    return bytes(out)


async def respond_with_letter(store: Store, staff_slack_id: str) -> None:
    services = store.services
    staff = await services.access.actor(staff_slack_id)
    if staff is None:
        raise LookupError(f"the demo's staff member {staff_slack_id} has no portal account")
    sandbox = SandboxSimulator(store.sessions, services.clock)
    paid = await sandbox.charge(
        amount=Money.parse("1800.00"),
        method=MethodType.CARD,
        kind=PaymentKind.SALE,
        matter_id="MAT-1001",
        account=Account.OPERATING,
        brand="visa",
        last4="4242",
        customer_name="Robin Client",
        description="Invoice INV-2044",
    )
    dispute = await sandbox.dispute(paid.id, reason="fraudulent")
    content = engagement_letter()
    letter = DocumentFile("engagement-letter.pdf", "application/pdf", content)
    offered = OfferedFile("F0DEMOLETTER", letter.name, len(content), "")
    await services.disputes.draft(
        staff,
        dispute.id,
        {
            "summary": "The client signed the engagement letter (attached) before the work began.",
            "product_description": "Legal advice on the client's matter, as invoiced.",
        },
        Source.COMMAND,
        [(offered, letter)],
    )
