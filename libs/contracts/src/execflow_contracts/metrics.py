"""The fixed buckets of the metrics rollup's duration histograms, shared by the projector
that counts into them and the API that reads percentiles out of them.

Bounds in milliseconds, 1 ms to 100,000,000 ms (about 28 hours), six to a decade
(1, 1.5, 2, 3, 5, 7 times a power of ten): a value falls in bucket i when
bounds[i-1] <= value < bounds[i], below the first in bucket 0, from the last on in the
last bucket. A percentile read from them is within its bucket (bounds at most 1.67
apart) of the true one; the API interpolates inside the bucket and clamps to the exact min and max.
Changing the bounds changes what stored histograms mean: rebuild the rollup after.
"""

# The rollup's rows of every workflow and queue at once: what a chart of everything reads
# (no workflow id or queue name can be it).
ALL = "*"

DECADE = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
DURATION_BOUNDS_MS: tuple[float, ...] = (
    *(step * 10**power for power in range(8) for step in DECADE),
    100_000_000.0,
)
HISTOGRAM_BUCKETS = len(DURATION_BOUNDS_MS) + 1
