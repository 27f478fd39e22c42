"""A message as a new send item: what "retry" sends again (the same recipient, content and gateway)."""

from __future__ import annotations

from messaging.items import Attachment, EmailItem, Item, SmsItem, WhatsAppItem
from messaging.models import Message


def item_of(message: Message) -> Item:
    gateway = message.gateway.identifier if message.gateway else ""
    if message.channel == "email":
        attachments = [Attachment(kind=a.get("type", ""), url=a.get("url", "")) for a in message.attachments or []]
        return EmailItem(
            recipient=message.recipient, subject=message.subject, body=message.body, text=message.text_body,
            sender_name=message.sender_name, from_email=message.from_email, reply_to=message.reply_to,
            list_unsubscribe=message.list_unsubscribe, attachments=attachments, gateway=gateway,
        )  # fmt: skip
    if message.channel == "sms":
        return SmsItem(
            recipient=message.recipient, body=message.body, sms_type=message.sms_type or "plain", gateway=gateway
        )
    return WhatsAppItem(
        recipient=message.recipient,
        body=message.body,
        media=message.media,
        media_url=message.media_url,
        template=message.whatsapp_template,
        gateway=gateway,
    )
