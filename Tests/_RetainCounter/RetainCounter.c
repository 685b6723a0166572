// See _RetainCounter.h.
#include "_RetainCounter.h"

#if defined(__linux__)

#include <stdatomic.h>
#include <stdbool.h>

// The Swift runtime's instrumentation entry points (libswiftCore).
extern void *(*_swift_retain)(void *object);
extern bool _swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly;

static void *(*original_retain)(void *object);
static atomic_bool counting = false;
static atomic_uint_fast64_t calls = 0;

static void *counting_retain(void *object) {
  if (atomic_load_explicit(&counting, memory_order_relaxed)) {
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
  }
  return original_retain(object);
}

int retain_counter_supported(void) { return 1; }

void retain_counter_start(void) {
  atomic_store_explicit(&calls, 0, memory_order_relaxed);
  atomic_store_explicit(&counting, true, memory_order_seq_cst);
  // The pointer before the switch, so that no retain goes through a missing hook.
  original_retain = _swift_retain;
  _swift_retain = counting_retain;
  _swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly = true;
}

uint64_t retain_counter_stop(void) {
  // The switch before the pointer, the reverse of the start.
  _swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly = false;
  _swift_retain = original_retain;
  atomic_store_explicit(&counting, false, memory_order_seq_cst);
  return (uint64_t)atomic_load_explicit(&calls, memory_order_seq_cst);
}

#else

int retain_counter_supported(void) { return 0; }
void retain_counter_start(void) {}
uint64_t retain_counter_stop(void) { return 0; }

#endif
