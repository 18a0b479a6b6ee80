/* The sweep: `[mpirun -n N] copysweep JOB.ini [-o FILE] [--list]`. Rank 0 is the master: it reads
 * the job file, enumerates the grid, hands trials to the other ranks one at a time as they become
 * free (the most expensive first), gathers every finished trial and alone writes the results file.
 * With one rank, the master runs the trials itself. Finished trials are skipped when the same
 * command runs again; a trial stopped by SIGTERM, SIGUSR1 or SIGINT continues from its checkpoint.
 * Exit status: 0 every trial has a final status and none failed (done, diverged or pruned: diverged
 * is a result); 4 the same, but some trial failed; 2 bad input, nothing written; 3 stopped by a
 * signal, checkpoints written, run the same command to resume; 1 failure. */
#ifndef CS_SWEEP_H
#define CS_SWEEP_H

#define SWEEP_EXIT_INTERRUPTED 3
#define SWEEP_EXIT_TRIALS_FAILED 4

/* The whole sweep command; argv[1] is the job file. Calls MPI_Init and MPI_Finalize. */
int sweep_main(int argc, char **argv);

#endif
