// A retain counter for tests: counts the Swift runtime's swift_retain calls made by every
// thread while counting is on, through the runtime's instrumentation hook (the `_swift_retain`
// function pointer, which swift_retain calls once
// `_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly` is set),
// installed by retain_counter_start() and removed by retain_counter_stop(). Use it in a child
// process (an exit test) where nothing else runs: other threads may be retaining meanwhile.
//
// Only on Linux (where CI runs): elsewhere retain_counter_supported() returns 0 and nothing
// is counted.
#ifndef RETAIN_COUNTER_H
#define RETAIN_COUNTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Non-zero where the hook is installed and counts.
int retain_counter_supported(void);

/// Resets the count to 0 and starts counting swift_retain calls from all threads.
void retain_counter_start(void);

/// Stops counting and returns the number of swift_retain calls since retain_counter_start().
uint64_t retain_counter_stop(void);

#ifdef __cplusplus
}
#endif

#endif
