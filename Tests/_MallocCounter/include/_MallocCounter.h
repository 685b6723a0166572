// A counting allocator for tests: on Linux with glibc this target defines malloc, calloc,
// realloc, free, posix_memalign, aligned_alloc, memalign, valloc and pvalloc, forwarding each
// to glibc's own implementation (__libc_malloc and friends) and, while counting is on,
// counting the calls made by every thread. Linked into a test executable, these definitions
// take the place of glibc's for the whole process (the executable comes first in symbol
// lookup), including the Swift runtime and the C++ standard library.
//
// Elsewhere the functions below exist but count nothing, and malloc_counter_supported()
// returns 0 so that tests can skip with a message.
#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Non-zero when the allocator functions are interposed and counted (Linux with glibc).
int malloc_counter_supported(void);

/// Resets the count to 0 and starts counting allocator calls from all threads.
void malloc_counter_start(void);

/// Stops counting and returns the number of calls since malloc_counter_start(): every
/// allocation or reallocation (successful or not) and every free of a non-null pointer.
uint64_t malloc_counter_stop(void);

#ifdef __cplusplus
}
#endif

#endif
