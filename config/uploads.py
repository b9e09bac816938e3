"""An upload handler that stops a file part once it grows past MAX_UPLOAD_BYTES."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitUploadHandler(FileUploadHandler):
    """First in the chain: counts each file's bytes as they stream in and stops the upload
    when one is too large, so nothing bigger than the limit is buffered or written to disk.
    The form then sees no file; the request is marked `upload_truncated = True` so a view can
    say the file was too large instead of asking for one (or, worse, saving without it). The
    view's own size checks stay in force."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            if self.request is not None:
                self.request.upload_truncated = True
            raise StopUpload(connection_reset=False)
        return raw_data  # pass the chunk on to the next handler

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file object
