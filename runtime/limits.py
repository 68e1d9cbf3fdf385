"""What the runtime accepts from a sensor, in one place: anything outside these limits is dead-lettered with a
reason before it touches a window (`runtime.features.decode_record`, `record_key`, `record_values`).

The numeric bound is what keeps every later step finite without checking it again: with |x| <= MAX_ABS_VALUE and
at most 4096 rows per window (`WindowConfig.size`), a sum is at most 4.1e33, a delta 2e30, a squared deviation
4e60 (float64 holds 1.8e308) and every feature fits float32 (3.4e38), so features, the model's input tensor,
DuckDB's DOUBLE column and a restore all see the same finite numbers.
"""

from __future__ import annotations

import re

DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024  # a deployment's `max_payload_bytes` unless set; larger is `oversized`
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024  # the most `max_payload_bytes` may be set to (NATS's own default cap is 1 MiB)
MAX_ABS_VALUE = 1e30  # a window field's magnitude; larger (or an integer beyond it) is `out_of_range`
MAX_DEPTH = 32  # nesting of JSON arrays and objects, the record itself counting as 1; deeper is `too_deep`
MAX_KEY_CHARS = 256  # a window key's length, after an integer key is turned into its decimal text
MAX_INPUT_ID_CHARS = 256  # a longer `Nats-Msg-Id`/`msg-id` is replaced by its hash (`runtime.pipeline.input_id`)
MAX_SENSOR_TS = 253402300800.0  # 9999-12-31 in unix seconds: a later `Edgeops-Sensor-Ts` is ignored

# C0 controls (NUL included), DEL and lone UTF-16 surrogates (a JSON "\ud800" escape decodes to one, and it cannot
# be encoded as UTF-8 for a result, a dead-letter detail or DuckDB): none of them belongs in a key or an id.
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
