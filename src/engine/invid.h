/*
 * invid.h - invocation IDs (luci-scheduler-spec.md 3.4).
 *
 * An invocation ID is a positive int64:
 *
 *   bit 63     0
 *   bits 20-62 (~ms) & (2^43 - 1), ms = milliseconds since 2015-01-01 UTC
 *   bits 4-19  16 random bits supplied by the caller
 *   bits 0-3   0 (ID format version 0)
 *
 * so newer invocations have numerically smaller IDs: sorting by ID
 * ascending lists the most recent first.  ID 0 never names an invocation.
 *
 * Pure: the caller supplies the time and the randomness, and checks that
 * the ID is not taken (LUCI makes one attempt per transaction).
 */
#ifndef TOCK_ENGINE_INVID_H
#define TOCK_ENGINE_INVID_H

#include "base/compat.h"

/* 2015-01-01 00:00:00 UTC, the invocation ID epoch, in ns since 1970. */
#define INVID_EPOCH_NS (INT64_C(1420070400) * INT64_C(1000000000))

/*
 * The invocation ID for an invocation created at now_ns (truncated to the
 * millisecond) with random bits rand16.  Times before the ID epoch or after
 * 2^43 ms past it wrap as in LUCI (only the low 43 bits of ~ms are kept).
 */
int64_t invid_make(int64_t now_ns, uint16_t rand16);

/*
 * The creation time of id to the millisecond (ns since 1970), for ids made
 * after the epoch and within 2^43 ms of it: the inverse of invid_make.
 */
int64_t invid_time(int64_t id);

#endif
