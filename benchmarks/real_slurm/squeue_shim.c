/* A counting squeue for the status-load benchmark against real Slurm
 * (benchmarks/status_load_real.py): logs each call as the emulated squeue does
 * (benchmarks/fake_slurm/squeue.c: the time, the phase tag FAKE_SLURM_PHASE, the user id and
 * the arguments, one line to FAKE_SLURM_LOG when it is set), then execs the real squeue with
 * the same arguments and environment. The real program is fixed when the shim is built
 * (-DREAL_SQUEUE="/usr/bin/squeue"), never read from the environment. Its own cost is a
 * small C start-up, charged with squeue's to the hub host's command CPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef REAL_SQUEUE
#define REAL_SQUEUE "/usr/bin/squeue"
#endif

int main(int argc, char **argv) {
    const char *log_path = getenv("FAKE_SLURM_LOG");
    const char *phase = getenv("FAKE_SLURM_PHASE");
    if (log_path && *log_path) {
        struct timeval now;
        gettimeofday(&now, NULL);
        FILE *log = fopen(log_path, "a");
        if (log) {
            fprintf(log, "%ld.%06ld %s %d", (long)now.tv_sec, (long)now.tv_usec,
                    phase && *phase ? phase : "-", (int)getuid());
            for (int i = 1; i < argc; i++) fprintf(log, " %s", argv[i]);
            fputc('\n', log);
            fclose(log);
        }
    }
    (void)argc;
    argv[0] = REAL_SQUEUE;
    execv(REAL_SQUEUE, argv);
    perror("squeue shim: cannot run " REAL_SQUEUE);
    return 127;
}
