/* Open MPI's own all-reduce bandwidth, for `striate bench --only allreduce` to stand beside Striate's figures.
 * Same measurement as Striate's: MPI_Allreduce(MPI_IN_PLACE, float, MPI_SUM) on 1, 25 and 100 MiB; per size a fixed
 * number of iterations (the same on every rank), three rounds, the best round's mean time, the slowest rank's.
 * Bus bandwidth as nccl-tests defines it: bytes / time × 2(p − 1)/p.
 * Built and run by allreduce_loop.sh (mpicc from libopenmpi-dev); prints one line per size:
 *   allreduce SIZE_MIB BYTES SECONDS BUSBW_GBPS */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int mib[] = {1, 25, 100};
    const int iterations[] = {50, 10, 5};
    for (int s = 0; s < 3; s++) {
        size_t count = (size_t)mib[s] * 1048576 / sizeof(float);
        float *buffer = malloc(count * sizeof(float));
        for (size_t i = 0; i < count; i++) buffer[i] = 0.0f; /* sums of zeros: no overflow to infinity over the iterations */
        MPI_Allreduce(MPI_IN_PLACE, buffer, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); /* warm-up */
        double best = 1e30;
        for (int round = 0; round < 3; round++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            for (int i = 0; i < iterations[s]; i++)
                MPI_Allreduce(MPI_IN_PLACE, buffer, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double mean = (MPI_Wtime() - start) / iterations[s], slowest;
            MPI_Allreduce(&mean, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (slowest < best) best = slowest;
        }
        double bytes = (double)count * sizeof(float);
        if (rank == 0)
            printf("allreduce %d %.0f %.9f %.6f\n", mib[s], bytes, best, bytes / best * 2.0 * (size - 1) / size / 1e9);
        free(buffer);
    }
    MPI_Finalize();
    return 0;
}
