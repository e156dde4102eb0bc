#ifndef STP_CMPI_SHIM_H
#define STP_CMPI_SHIM_H
// Open MPI through its C interface (pkg-config ompi-c names the include directory and libmpi).
// MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over library globals that
// Swift cannot import: each is read through a function here, never copied. The target exists
// only where Open MPI is installed (see Package.swift); stp is then data-parallel under mpirun.
#include <mpi.h>

static inline MPI_Comm stp_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype stp_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype stp_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype stp_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op stp_mpi_sum(void) { return MPI_SUM; }
static inline void *stp_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int stp_mpi_success(void) { return MPI_SUCCESS; }
static inline int stp_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int stp_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
#endif
