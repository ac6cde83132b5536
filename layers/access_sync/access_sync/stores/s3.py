"""S3 blob store. Writers stream through a multipart upload, so memory stays at one part, whatever the size.

Every S3 failure leaves as the library's own error (stores/aws_errors.py), naming the location.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from access_sync.errors import ConfigurationError
from access_sync.stores.aws_clients import aws_client
from access_sync.stores.aws_errors import aws_code, aws_errors, translate
from access_sync.stores.blob import BlobWriter, write_check_key

PART_SIZE = 8 * 1024 * 1024  # S3 needs ≥ 5 MiB for every part but the last


def s3_client() -> Any:
    return aws_client("s3", max_attempts=8)


class _MultipartWriter:
    """Buffers one part at a time; small objects end up as a single PutObject."""

    def __init__(self, bucket: str, key: str, content_type: str) -> None:
        self.bucket, self.key, self.content_type = bucket, key, content_type
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= PART_SIZE:
            self._flush_part()
        return len(data)

    def _flush_part(self) -> None:
        with aws_errors(f"write s3://{self.bucket}/{self.key}"):
            self._upload_part()

    def _upload_part(self) -> None:
        client = s3_client()
        if self.upload_id is None:
            created = client.create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        answer = client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(self.buffer),
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer.clear()

    def close(self) -> None:
        with aws_errors(f"write s3://{self.bucket}/{self.key}"):
            self._complete()

    def _complete(self) -> None:
        client = s3_client()
        if self.upload_id is None:
            client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer), ContentType=self.content_type)
            return
        if self.buffer:
            self._upload_part()
        client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        if self.upload_id is not None:
            # Best effort: the bucket's lifecycle rule removes uploads left incomplete.
            with suppress(ClientError, BotoCoreError):
                s3_client().abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def describe(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self._key(key)}".rstrip("/")

    @contextmanager
    def open_writer(self, key: str, content_type: str = "application/octet-stream") -> Iterator[BlobWriter]:
        writer = _MultipartWriter(self.bucket, self._key(key), content_type)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.close()

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/json") -> None:
        with aws_errors(f"write {self.describe(key)}"):
            s3_client().put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/json") -> bool:
        with aws_errors(f"write {self.describe(key)}"):
            try:
                s3_client().put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type, IfNoneMatch="*"
                )
            except ClientError as exc:
                # 409: another conditional write of the key is under way, so it will not be absent either.
                if aws_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                    return False
                raise
        return True

    def get_bytes(self, key: str) -> bytes | None:
        with aws_errors(f"read {self.describe(key)}"):
            try:
                answer = s3_client().get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                code = aws_code(exc)
                if code in ("NoSuchKey", "404"):
                    return None
                # Without bucket-wide ListBucket, S3 answers AccessDenied for a missing key; our role may list the
                # prefix, which tells the two apart.
                if code == "AccessDenied" and not self._exists(key):
                    return None
                raise
            data: bytes = answer["Body"].read()
        return data

    def _exists(self, key: str) -> bool:
        listed = s3_client().list_objects_v2(Bucket=self.bucket, Prefix=self._key(key), MaxKeys=1)
        return any(item["Key"] == self._key(key) for item in listed.get("Contents", []))

    @contextmanager
    def open_reader(self, key: str) -> Iterator[BinaryIO]:
        with aws_errors(f"read {self.describe(key)}"):
            body = s3_client().get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
            try:
                yield body
            finally:
                body.close()

    def copy(self, source: str, dest: str) -> None:
        # The managed copy switches to multipart copy for large objects, server-side.
        with aws_errors(f"copy {self.describe(source)}"):
            s3_client().copy({"Bucket": self.bucket, "Key": self._key(source)}, self.bucket, self._key(dest))

    def delete(self, key: str) -> None:
        with aws_errors(f"delete {self.describe(key)}"):
            s3_client().delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        keys = [self._key(key) for key in self.list_keys(prefix)]
        with aws_errors(f"delete under {self.describe(prefix)}"):
            for start in range(0, len(keys), 1000):  # DeleteObjects takes up to 1,000 keys
                batch = [{"Key": key} for key in keys[start : start + 1000]]
                s3_client().delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def check_writable(self, prefix: str = "") -> None:
        """Credentials, region, endpoint and the right to write here: every failure is a DEST to fix (exit 2)."""
        key = self._key(write_check_key(prefix))
        try:
            s3_client().put_object(Bucket=self.bucket, Key=key, Body=b"")
            s3_client().delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            problem = translate(exc, f"write to {self.describe()}")
            if isinstance(problem, ConfigurationError):
                raise problem from None
            raise ConfigurationError(
                f"Cannot write to {self.describe()} ({aws_code(exc)}); "
                "check the bucket name, the network and AWS_ENDPOINT_URL."
            ) from None

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = s3_client().get_paginator("list_objects_v2")
        strip = len(self.prefix) + 1 if self.prefix else 0
        with aws_errors(f"list {self.describe(prefix)}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                for item in page.get("Contents", []):
                    yield item["Key"][strip:]
