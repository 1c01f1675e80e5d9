"""The serving index: Whoosh segments, each with a sidecar the server matches with.

    postings.py   character and bigram postings: build, concatenate, merge (CSR tables)
    segment.py    a segment's state in memory (plans, passages, texts, word ids, postings); merge
    files.py      a sidecar on disk (`seg-<segment id>/`), its manifest of sizes and crc32s
    reader.py     the newest good commit: Whoosh's TOC, its live segments, their deleted plans
    writer.py     a commit: staged segments moved in, deletes, the merge policy, clean-up

`indexer.store` opens the index and builds its documents; `app.snapshot` serves.
"""
