/* The emulated squeue of benchmarks/fake_slurm/squeue, compiled: the same answers and log
 * lines at the cost of a small C program instead of a Python start-up, so that a spawner
 * asking for hundreds of squeue calls a second is not held back by the emulator.
 *
 * FAKE_SLURM_LINES names the jobs, one "<job id> <state> <node>" line each (the node may be
 * missing); FAKE_SLURM_LOG gets one line per call: the time, the phase tag
 * (FAKE_SLURM_PHASE), the user id and the arguments. Output forms: --Format=... (jobspawner)
 * and -o "%T %B" with -j ID (batchspawner). Built by benchmarks/status_load.py with cc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 100000
#define MAX_IDS 100000

static char *job_id[MAX_JOBS], *job_state[MAX_JOBS], *job_node[MAX_JOBS];
static int n_jobs;

static char *read_all(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap + 1);
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static int find_job(const char *id) {
    for (int i = 0; i < n_jobs; i++)
        if (strcmp(job_id[i], id) == 0) return i;
    return -1;
}

int main(int argc, char **argv) {
    const char *log_path = getenv("FAKE_SLURM_LOG"), *lines = getenv("FAKE_SLURM_LINES");
    const char *phase = getenv("FAKE_SLURM_PHASE");
    if (!log_path || !lines) {
        fputs("fake squeue: FAKE_SLURM_LOG and FAKE_SLURM_LINES must be set\n", stderr);
        return 2;
    }
    struct timeval now;
    gettimeofday(&now, NULL);
    FILE *log = fopen(log_path, "a");
    if (log) {
        fprintf(log, "%ld.%06ld %s %d", (long)now.tv_sec, (long)now.tv_usec, phase ? phase : "-",
                (int)getuid());
        for (int i = 1; i < argc; i++) fprintf(log, "%s%s", i == 1 ? " " : " ", argv[i]);
        fputc('\n', log);
        fclose(log);
    }
    char *state = read_all(lines);
    if (!state) return 2;
    for (char *line = strtok(state, "\n"); line && n_jobs < MAX_JOBS; line = strtok(NULL, "\n")) {
        char *save, *id = strtok_r(line, " ", &save), *st = strtok_r(NULL, " ", &save);
        char *node = strtok_r(NULL, " ", &save);
        if (!id || !st) continue;
        job_id[n_jobs] = id, job_state[n_jobs] = st, job_node[n_jobs++] = node ? node : "";
    }
    static char *ids[MAX_IDS];
    int n_ids = 0, batch = 0;
    char *list = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--jobs=", 7) == 0) list = argv[i] + 7;
        else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) list = argv[i + 1];
        else if (strcmp(argv[i], "-o") == 0) batch = 1;
        else if (strncmp(argv[i], "--Format=", 9) == 0) batch = 0;
    }
    if (list) {
        char *copy = strdup(list), *save;
        for (char *id = strtok_r(copy, ",", &save); id && n_ids < MAX_IDS;
             id = strtok_r(NULL, ",", &save)) {
            int seen = 0;
            for (int k = 0; k < n_ids && !seen; k++) seen = strcmp(ids[k], id) == 0;
            if (!seen) ids[n_ids++] = id;
        }
    }
    /* a running job's limit ends in eight hours, as a real one's would be ahead */
    char end[32];
    time_t later = time(NULL) + 8 * 3600;
    strftime(end, sizeof end, "%Y-%m-%dT%H:%M:%S", localtime(&later));
    int known = 0;
    for (int k = 0; k < n_ids; k++) {
        int j = find_job(ids[k]);
        if (j < 0) continue;
        known++;
        const char *st = job_state[j];
        int running = strcmp(st, "RUNNING") == 0 || strcmp(st, "COMPLETING") == 0;
        const char *host = running ? job_node[j] : "";
        if (batch) {
            if (running && *host) printf("%s %s\n", st, host);
            else printf("%s\n", st);
        } else {
            printf("%s|%s|%s|0:0|%s|%s|%s|debug|%s|jobspawner|\n", ids[k], st,
                   running ? "None" : "Resources", host, host,
                   running ? "2025-01-01T00:00:00" : "N/A", running ? end : "N/A");
        }
    }
    if (n_ids == 1 && !known) {
        fputs("slurm_load_jobs error: Invalid job id specified\n", stderr);
        return 1;
    }
    return 0;
}
