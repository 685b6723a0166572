// mpi.h, and static inline functions returning what OpenMPI defines as macros (handles to
// predefined objects, casts of the addresses of its externs, and a few constants), which
// Swift's importer cannot see. Nothing here has state of its own.
#ifndef SOFTMAX_MPI_SHIM_H
#define SOFTMAX_MPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm softmax_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm softmax_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype softmax_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype softmax_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype softmax_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op softmax_mpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op softmax_mpi_op_min(void) { return MPI_MIN; }
static inline MPI_Op softmax_mpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op softmax_mpi_op_bxor(void) { return MPI_BXOR; }
static inline MPI_Datatype softmax_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Errhandler softmax_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *softmax_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int softmax_mpi_success(void) { return MPI_SUCCESS; }
static inline int softmax_mpi_undefined(void) { return MPI_UNDEFINED; }
static inline int softmax_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
