// See _MallocCounter.h. The forwarding targets are glibc's exported __libc_* entry points,
// which are its real allocator: calling them cannot reach our definitions again (so calloc
// cannot recurse, as it would with a dlsym(RTLD_NEXT) lookup that itself calls calloc), and
// they need no initialization, so allocations made before main (by shared libraries'
// constructors) are safe. Every pointer handed out comes from glibc's heap, so
// memory allocated before counting started, or by glibc-internal paths that bypass these
// symbols, can be freed through either.
#include "_MallocCounter.h"

#if defined(__linux__) && defined(__GLIBC__)

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

// Relaxed atomics: the count is read only after malloc_counter_stop() turned counting off,
// and the code under test synchronizes with its own worker threads before returning, which
// orders their increments before that read.
static atomic_bool counting = false;
static atomic_uint_fast64_t calls = 0;

static inline void count_call(void) {
  if (atomic_load_explicit(&counting, memory_order_relaxed)) {
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
  }
}

int malloc_counter_supported(void) { return 1; }

void malloc_counter_start(void) {
  atomic_store_explicit(&calls, 0, memory_order_relaxed);
  atomic_store_explicit(&counting, true, memory_order_seq_cst);
}

uint64_t malloc_counter_stop(void) {
  atomic_store_explicit(&counting, false, memory_order_seq_cst);
  return (uint64_t)atomic_load_explicit(&calls, memory_order_seq_cst);
}

void *malloc(size_t size) {
  count_call();
  return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
  count_call();
  return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
  count_call();
  return __libc_realloc(pointer, size);
}

void free(void *pointer) {
  // free(NULL) does nothing, and Swift and C++ code call it freely on empty storage.
  if (pointer != NULL) count_call();
  __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
  count_call();
  return __libc_memalign(alignment, size);
}

// glibc accepts any alignment here (it rounds up to a power of two), like its own
// aligned_alloc; the Swift runtime uses aligned_alloc for over-aligned allocations.
void *aligned_alloc(size_t alignment, size_t size) {
  count_call();
  return __libc_memalign(alignment, size);
}

// posix_memalign has no __libc_ entry point; it is memalign with the POSIX argument checks
// and error reporting, and it must leave errno alone on success.
int posix_memalign(void **result, size_t alignment, size_t size) {
  count_call();
  if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) {
    return EINVAL;
  }
  const int saved_errno = errno;
  void *pointer = __libc_memalign(alignment, size);
  if (pointer == NULL) {
    errno = saved_errno;
    return ENOMEM;
  }
  *result = pointer;
  return 0;
}

void *valloc(size_t size) {
  count_call();
  return __libc_valloc(size);
}

void *pvalloc(size_t size) {
  count_call();
  return __libc_pvalloc(size);
}

#else

int malloc_counter_supported(void) { return 0; }
void malloc_counter_start(void) {}
uint64_t malloc_counter_stop(void) { return 0; }

#endif
