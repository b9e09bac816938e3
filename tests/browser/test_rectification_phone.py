"""Rectification on a phone (390×844): the village secretary finds the item in the ledger's
cards, an over-limit PDF is refused before anything is sent, a large camera photo (taken turned,
EXIF orientation 6) is made smaller in the browser and kept the right way up, and the township
sends the report back with a new deadline that the item page then states."""

from __future__ import annotations

import base64
import datetime as dt
import struct

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scoring.models import RectificationEvent, RectificationItem, RectificationStatus, Stage
from tests.browser.conftest import PHONE
from tests.browser.helpers import no_horizontal_scroll, zh

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = PHONE["viewport"]["width"]
LIMIT = 10 * 2**20

# A 4000×3000 photo of noise (so it stays big once compressed) at JPEG quality 0.98: bigger
# than the stream limit, as a phone camera's 13 MB photo is.
NOISE_JPEG = """() => new Promise((resolve) => {
  const c = document.createElement("canvas");
  c.width = 4000; c.height = 3000;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(4000, 3000);
  const d = img.data;
  let x = 12345;
  for (let i = 0; i < d.length; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0; d[i] = x >>> 24;
    x = (x * 1103515245 + 12345) >>> 0; d[i + 1] = x >>> 24;
    x = (x * 1103515245 + 12345) >>> 0; d[i + 2] = x >>> 24;
    d[i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  c.toBlob((b) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result.split(",")[1]);
    r.readAsDataURL(b);
  }, "image/jpeg", 0.98);
})"""


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an EXIF block saying how the camera was held (6: turned 90° clockwise)."""
    ifd = b"\x00\x01" + b"\x01\x12\x00\x03\x00\x00\x00\x01" + struct.pack(">HH", orientation, 0)
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + ifd + b"\x00\x00\x00\x00"
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no frame in the JPEG")


def test_village_reports_with_a_big_photo_and_the_township_sends_it_back(
    world, journey, settings, tmp_path
):
    assert settings.EVIDENCE_MAX_BYTES == LIMIT
    world.advance("东街村", Stage.FINAL)
    assessment = world.assessment("东街村")
    item = RectificationItem.objects.create(
        assessment=assessment,
        indicator=world.indicators["1.2"],
        points_lost=4,
        lost_note="三会一课记录不全",
        responsible_person="刘建国",
        measure="补齐会议记录",
        deadline=timezone.localdate() + dt.timedelta(days=20),
    )
    ledger = f"/scoring/campaigns/{world.campaign.slug}/rectification/"

    village = journey.login(world.secretary_of("东街村"), **PHONE)
    village.goto(ledger)
    expect(village.locator("#rect-townships")).to_have_count(0)  # no summary for a village
    expect(village.locator("#rect-items")).to_be_hidden()  # the wide table is for wide screens
    card = village.locator("#rect-cards .rect-card", has_text="东街村")
    expect(card).to_contain_text(zh("Waiting for the village to report it done"))
    no_horizontal_scroll(village, WIDTH)
    card.tap()
    expect(village.locator("#rect-status")).to_have_text(zh(RectificationStatus.OPEN.label))
    note = village.locator("#f-report-note")
    expect(note).to_have_value("")  # a new form is empty
    expect(village.locator("#step-report button")).to_have_text(zh("Report done"))
    no_horizontal_scroll(village, WIDTH)

    # An 11 MB PDF is refused in the browser: nothing is sent.
    posts = []
    village.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    note.fill("已补齐10月、11月支委会记录")
    pdf = tmp_path / "会议记录.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + b"0" * (LIMIT + 2**20))
    village.set_input_files("#att-report", pdf)
    village.locator("#step-report button").tap()
    expect(village.locator("#att-report-error")).to_have_text(
        zh("The file is larger than %(max_mb)s MB. Choose a smaller file or take the photo again.")
        % {"max_mb": 10}
    )
    assert posts == []
    assert not RectificationEvent.objects.exists()

    # A camera photo far over the limit, held turned: made smaller, the right way up, and sent.
    photo = with_orientation(base64.b64decode(village.evaluate(NOISE_JPEG)), 6)
    assert len(photo) > settings.MAX_UPLOAD_BYTES
    print(f"photo: {len(photo)} bytes")
    camera = tmp_path / "IMG_0001.jpg"
    camera.write_bytes(photo)
    village.set_input_files("#att-report", camera)
    expect(village.locator("#att-report-error")).to_have_text("")
    village.locator("#step-report button").tap()
    expect(village.locator(".alert-success")).to_be_visible()
    expect(village.locator("#rect-status")).to_have_text(zh(RectificationStatus.REPORTED.label))
    event = RectificationEvent.objects.get()
    assert event.note == "已补齐10月、11月支委会记录"
    stored = event.attachment.read()
    assert len(stored) <= LIMIT
    assert stored.startswith(b"\xff\xd8\xff")
    assert jpeg_size(stored) == (1920, 2560)  # portrait, as the camera was held; long side 2560
    assert event.attachment.name.endswith(".jpg")

    # The township sends it back with a new deadline (a week away is proposed).
    township = journey.login("chengguan", **PHONE)
    township.goto(f"/scoring/rectification/{item.pk}/")
    expect(township.locator("#rect-next")).to_contain_text(
        zh("Waiting for the township to verify it")
    )
    expect(township.locator("#step-verify button")).to_have_text(zh("Verify as done"))
    expect(township.locator("#step-send_back button")).to_have_text(zh("Send back for rework"))
    expect(township.locator("#f-send_back-note")).to_have_value("")
    today = timezone.localdate()
    deadline = township.locator("#f-send_back-deadline")
    expect(deadline).to_have_value((today + dt.timedelta(days=7)).isoformat())
    no_horizontal_scroll(township, WIDTH)
    new = today + dt.timedelta(days=10)
    township.fill("#f-send_back-note", "照片看不清会议签字")
    deadline.fill(new.isoformat())
    township.locator("#step-send_back button").tap()
    expect(township.locator(".alert-success")).to_be_visible()
    expect(township.locator("#rect-status")).to_have_text(zh(RectificationStatus.OPEN.label))
    item.refresh_from_db()
    assert (item.status, item.deadline) == (RectificationStatus.OPEN, new)

    village.reload()
    next_step = village.locator("#rect-next")
    expect(next_step).to_contain_text(zh("Waiting for the village to report it done"))
    expect(next_step).to_contain_text(new.isoformat())
    expect(village.locator("dl")).to_contain_text("照片看不清会议签字")
    expect(village.locator("#f-report-note")).to_have_value("")
    no_horizontal_scroll(village, WIDTH)
    journey.finish(village)
