#include "engine/invid.h"

#include "base/time.h"

/* The ID keeps 43 bits of the inverted millisecond count. */
#define INVID_TIME_BITS 43

int64_t invid_make(int64_t now_ns, uint16_t rand16)
{
    int64_t ms;

    /* Go's now.Sub(epoch) saturates instead of overflowing; so do we. */
    if (now_ns < INT64_MIN + INVID_EPOCH_NS)
        ms = (INT64_MIN + INVID_EPOCH_NS) / NS_PER_MS;
    else
        ms = (now_ns - INVID_EPOCH_NS) / NS_PER_MS; /* truncates toward 0, as Go */

    uint64_t mask = (UINT64_C(1) << INVID_TIME_BITS) - 1;
    uint64_t high = ~(uint64_t)ms & mask;
    uint64_t id = (high << 20) | ((uint64_t)rand16 << 4);
    return (int64_t)id;
}

int64_t invid_time(int64_t id)
{
    uint64_t mask = (UINT64_C(1) << INVID_TIME_BITS) - 1;
    uint64_t high = ((uint64_t)id >> 20) & mask;
    int64_t ms = (int64_t)(~high & mask);

    return INVID_EPOCH_NS + ms * NS_PER_MS;
}
