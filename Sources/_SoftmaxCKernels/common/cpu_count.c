// The CPUs this process may run on: sched_getaffinity needs _GNU_SOURCE, which Swift's Glibc
// module does not expose, so it is asked here. A process pinned with taskset then sizes its
// worker pool to the CPUs it really has.
#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>

#include "_SoftmaxCKernels.h"

int softmax_available_cpu_count(void) {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
#endif
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? (int)online : 1;
}
