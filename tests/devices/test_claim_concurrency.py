"""Ten phones of one tenant poll 5,000 queued SMS at once: each message goes to exactly one phone, and no
phone takes more than its quota."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from devices import services
from devices.models import AndroidDevice
from messaging.items import SmsItem
from messaging.models import Message, Status
from messaging.services import accept_messages

PHONES, MESSAGES, QUOTA = 10, 5000, 300  # 10 phones x 2 SIMs x 300 = 6,000 >= 5,000


@pytest.mark.django_db(transaction=True)
def test_ten_phones_polling_5000_messages_each_message_to_exactly_one_phone(alice):
    from accounts.services import add_credits

    add_credits(user=alice.user, channel="sms", amount=MESSAGES)
    devices = []
    for n in range(PHONES):
        registration = services.register_session(
            pairing_token=services.create_pairing_token(user=alice.user)[1], device_uuid=f"phone-{n}"
        )
        for slot in range(2):
            services.add_sim(device=registration.device, slot=slot)
        services.update_profile(device=registration.device, poll_interval=5, daily_quota=QUOTA, lease_seconds=300)
        devices.append(registration.device)
    items = [SmsItem(recipient=f"+1555{i:07d}", body=f"Message {i}", gateway="android") for i in range(1000)]
    for _ in range(MESSAGES // 1000):
        accept_messages(principal=alice.user, channel="sms", items=items)
    claimed: dict[str, list[str]] = {str(d.uid): [] for d in devices}
    barrier = threading.Barrier(PHONES)

    def poll(device: AndroidDevice) -> None:
        barrier.wait()
        try:
            while batch := services.claim_pending(device=device):
                claimed[str(device.uid)].extend(str(m.uid) for m in batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll, args=(d,)) for d in devices]
    [t.start() for t in threads]
    [t.join() for t in threads]
    every = [uid for uids in claimed.values() for uid in uids]
    per_sim = Counter(Message.objects.values_list("device_sim", flat=True))
    assert len(every) == len(set(every)) == MESSAGES
    assert Message.objects.filter(status=Status.PROCESSING).count() == MESSAGES
    assert max(per_sim.values()) <= QUOTA
    assert all(len(uids) <= 2 * QUOTA for uids in claimed.values())
