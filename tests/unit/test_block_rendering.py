"""Block Kit validation found once per class (bot/blocks/rendering.py) checks exactly what
slack_sdk's own ``validate_json`` checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models import blocks as kit
from slack_sdk.models import views
from slack_sdk.models.basic_objects import JsonObject

from bot.blocks import rendering
from bot.blocks.common import message_home, message_modal
from bot.blocks.help import help_blocks
from bot.blocks.refunds import refund_modal
from bot.blocks.transactions import transaction_card
from bot.blocks.users import add_user_modal, edit_role_modal
from bot.domain import (
    LineItem,
    MethodType,
    Money,
    PaymentKind,
    PaymentMethod,
    PortalAccount,
    Refund,
    RefundStatus,
    Transaction,
    TransactionStatus,
)


def subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def found_as_slack_sdk_does(obj: object) -> set[str]:
    """What ``JsonObject.validate_json`` runs for ``obj``: its search, written out."""
    return {
        name
        for name in dir(obj)
        if not name.startswith("__")
        and callable(member := getattr(obj, name, None))
        and hasattr(member, "validator")
    }


def found_on_a_bare_instance(cls: type) -> set[str] | None:
    """None when a property of ``cls`` needs what ``__init__`` sets (then it cannot be walked)."""
    try:
        return found_as_slack_sdk_does(cls.__new__(cls))
    except Exception:
        return None


def test_every_block_kit_class_has_the_same_validators_found() -> None:
    walked = {cls: found_on_a_bare_instance(cls) for cls in set(subclasses(JsonObject))}
    compared = {cls: names for cls, names in walked.items() if names is not None}
    for cls, names in compared.items():
        assert set(rendering.validator_names(cls)) == names, cls
    assert len(compared) > 40 and len(compared) > 3 * (len(walked) - len(compared))
    assert "_validate_text" in rendering.validator_names(kit.HeaderBlock)


BROKEN = [
    lambda: kit.HeaderBlock(text="x" * 151),
    lambda: kit.SectionBlock(fields=[f"f{i}" for i in range(11)]),
    lambda: kit.SectionBlock(text="x" * 3001),
    lambda: kit.ActionsBlock(
        elements=[kit.ButtonElement(text="b", action_id=f"a{i}") for i in range(26)]
    ),
    lambda: kit.ActionsBlock(elements=[kit.ButtonElement(text="x" * 76, action_id="a")]),
    lambda: kit.DividerBlock(block_id="b" * 256),
    lambda: views.View(type="modal", title="t" * 25, blocks=[]),
]


@pytest.mark.parametrize("make", BROKEN)
def test_a_broken_block_fails_with_the_libraries_message(make: object) -> None:
    assert callable(make)
    with pytest.raises(SlackObjectFormationError) as ours:
        make().to_dict()
    rendering.uninstall()
    try:
        with pytest.raises(SlackObjectFormationError) as theirs:
            make().to_dict()
    finally:
        rendering.install()
    assert str(ours.value) == str(theirs.value)


def built_by_the_bot() -> list[JsonObject]:
    """Blocks and views from the bot's builders, with every kind of element they use, and the
    one kind of property Block Kit allows empty (a rich text section)."""
    txn = Transaction(
        "txn_4f8a",
        PaymentKind.SALE,
        TransactionStatus.SUCCEEDED,
        Money(150000, "USD"),
        PaymentMethod(MethodType.CARD, "4242", "visa"),
        datetime(2026, 11, 2, 15, tzinfo=UTC),
        "MAT-1001",
        customer_name="Okafor & Co <Ltd>",
        description="Retainer",
        items=(LineItem("Retainer", Money(150000, "USD")),),
    )
    refunded = replace(
        txn,
        refunds=(Refund("re_1", txn.id, Money(150000), RefundStatus.PENDING, txn.created_at),),
    )
    admin = PortalAccount("ada", "Ada", "ada@firm.com", "admin", True, "UADA")
    viewer = PortalAccount("vic", "Vic", "vic@firm.com", "viewer", True, "UVIC")
    empty_section = kit.RichTextBlock(elements=[kit.RichTextSectionElement(elements=[])])
    return [
        *transaction_card(txn, can_refund=True, refusal=None),
        *transaction_card(refunded, can_refund=True, refusal="already refunded"),
        *help_blocks(admin),
        *help_blocks(viewer),
        refund_modal(txn),
        add_user_modal(),
        edit_role_modal(viewer),
        message_modal("Paybot", "Done."),
        message_home("Nothing to show."),
        empty_section,
    ]


def test_the_bots_blocks_render_the_same_either_way() -> None:
    built = built_by_the_bot()
    ours = [block.to_dict() for block in built]
    rendering.uninstall()
    try:
        theirs = [block.to_dict() for block in built]
    finally:
        rendering.install()
    assert ours == theirs and len(ours) > 20
    assert ours[-1]["elements"] == [{"type": "rich_text_section", "elements": []}]
