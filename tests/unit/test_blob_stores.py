"""A folder and an S3 prefix behave alike, and S3's failures reach callers as the library's own errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from access_sync.errors import ConfigurationError
from access_sync.stores.blob import BlobStore, LocalBlobStore
from access_sync.stores.s3 import S3BlobStore


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, aws: None) -> Iterator[BlobStore]:
    if request.param == "folder":
        yield LocalBlobStore(tmp_path / "dest")
    else:
        boto3.client("s3").create_bucket(Bucket="blobs")
        yield S3BlobStore("blobs", "some/prefix")


def test_delete_removes_one_key_and_delete_prefix_everything_under_it(store: BlobStore) -> None:
    for key in ("work/a/1", "work/a/2", "work/b/1", "kept/1"):
        store.put_bytes(key, key.encode())
    store.delete("work/a/1")
    store.delete("work/a")  # a folder is not a key: nothing happens
    store.delete("work/never-there")
    assert sorted(store.list_keys("work/")) == ["work/a/2", "work/b/1"]
    store.delete_prefix("work/")
    assert list(store.list_keys("work/")) == [] and store.get_bytes("kept/1") == b"kept/1"


def test_copy_leaves_the_source_and_a_missing_key_reads_as_none(store: BlobStore) -> None:
    store.put_bytes("segments/0", b"records")
    store.copy("segments/0", "final/part")
    assert store.get_bytes("final/part") == store.get_bytes("segments/0") == b"records"
    assert store.get_bytes("nothing/here") is None


def test_put_if_absent_writes_once_and_leaves_what_was_there(store: BlobStore) -> None:
    assert store.put_if_absent("provisioning/attempts/r1.json", b"first") is True
    assert store.put_if_absent("provisioning/attempts/r1.json", b"second") is False
    assert store.get_bytes("provisioning/attempts/r1.json") == b"first"


def test_an_aborted_writer_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(RuntimeError), store.open_writer("half.gz") as writer:
        writer.write(b"part of it")
        raise RuntimeError("the sync died")
    assert store.get_bytes("half.gz") is None


def test_a_missing_bucket_is_one_sentence_naming_it_not_a_botocore_error(aws: None) -> None:
    store = S3BlobStore("no-such-bucket-here")
    with pytest.raises(ConfigurationError) as caught:
        store.put_bytes("x.json", b"{}")
    assert caught.value.message == (
        "Cannot write s3://no-such-bucket-here/x.json (NoSuchBucket); check the name and this role's permissions."
    )
    with pytest.raises(ConfigurationError):
        list(store.list_keys("snapshots/"))
