"""`mooncake`: Mooncake's request trace JSONL (FAST'25, kvcache-ai/Mooncake FAST25-release).

One JSON object a line, as the release writes it: `{"timestamp": ms from the start,
"input_length": tokens, "output_length": tokens, "hash_ids": [block ids]}`. Each hash id
names one prefix block of `hash_block_tokens` (512 in the release); a request has
ceil(input_length / block) of them and shares its leading ones with earlier requests at the
source's measured reuse (see `generate.contents.PrefixPlan`). Ids are numbered from 0 in order
of first use, as the release numbers them. Read back by the `mooncake` adapter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generate.contents import prefix_plan
from generate.formats import Format, WriteInfo, atomic_text
from generate.workload import RequestWorkload

CHUNK = 50_000  # lines formatted at a time (hash id lists make a line ~100-1,000 bytes)


def write(w: RequestWorkload, out: Path, info: WriteInfo) -> list[Path]:
    assert w.input_tokens is not None and w.output_tokens is not None
    if w.prefix is None:  # a source without hash ids: every block new (measured: False)
        w.prefix = prefix_plan(w.input_tokens, None)
    # whole ms since the start; the nudge keeps 0.003 s (2.9999... ms as a float) at 3 ms
    ms = np.floor(w.t_s * 1000 + 1e-6).astype(np.int64)
    with atomic_text(out) as f:
        start = 0
        for ids_chunk in w.prefix.iter_hash_ids(CHUNK):
            end = start + len(ids_chunk)
            rows = zip(
                ms[start:end].tolist(),
                w.input_tokens[start:end].tolist(),
                w.output_tokens[start:end].tolist(),
                ids_chunk,
                strict=True,
            )
            f.write(
                "".join(
                    f'{{"timestamp": {t}, "input_length": {i}, "output_length": {o}, '
                    f'"hash_ids": [{", ".join(map(str, ids))}]}}\n'
                    for t, i, o, ids in rows
                )
            )
            start = end
    return [out]


FORMAT = Format(
    name="mooncake",
    shape="requests",
    needs_tokens=True,
    reader="mooncake",
    summary="Mooncake JSONL: timestamp (ms), input_length, output_length, hash_ids (prefix "
    "blocks shared at the source's reuse rate)",
    write=write,
)
