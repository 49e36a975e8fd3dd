"""The upload checks shared by every evidence backend, fuzzed on the file store."""

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from zhichao.platform.evidence import (
    JPEG_MAGIC,
    EvidenceError,
    EvidenceStore,
    PhotoHashError,
)


@given(
    body=st.one_of(
        st.binary(max_size=300), st.binary(max_size=300).map(JPEG_MAGIC.__add__)
    ),
    chunk=st.integers(min_value=1, max_value=64),
    wrong_name=st.booleans(),
)
def test_fuzz_upload_stored_only_when_checks_pass(
    tmp_path_factory, body, chunk, wrong_name
):
    store = EvidenceStore(tmp_path_factory.mktemp("evidence"))
    real = hashlib.sha256(body).hexdigest()
    name = hashlib.sha256(body + b"x").hexdigest() if wrong_name else real
    upload = store.writer(name, 1024)
    for start in range(0, len(body), chunk):
        upload.write(body[start : start + chunk])

    try:
        upload.commit()
        stored = True
    except EvidenceError as err:
        stored = False
        assert isinstance(err, PhotoHashError) == wrong_name
    finally:
        upload.discard()

    assert stored == (not wrong_name and body.startswith(JPEG_MAGIC))
    assert store.has(name) == stored
    assert list(store.incoming.iterdir()) == []
    if stored:
        assert store.read(name) == body
