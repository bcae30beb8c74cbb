/* confirm-blast's /proc readings: the broker's RSS and CPU, and the generator's own CPU. */
#include "blast.h"

/* ---------------------------------------------------------------- /proc readings */

long broker_rss_kb(void) {
  if (!npids) return -1;
  long total = 0;
  for (int i = 0; i < npids; i++) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pids[i]);
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    long v = -1;
    while (fgets(line, sizeof line, fp))
      if (strncmp(line, "VmRSS:", 6) == 0) { v = strtol(line + 6, NULL, 10); break; }
    fclose(fp);
    if (v < 0) return -1;
    total += v;
  }
  return total;
}

/* utime + stime of /proc/<path>/stat, in seconds; -1 if unreadable. */
static double stat_cpu_s(const char *path) {
  char buf[2048];
  FILE *fp = fopen(path, "r");
  if (!fp) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  buf[n] = 0;
  char *q = strrchr(buf, ')');
  unsigned long ut, st;
  if (!q || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double broker_cpu_s(void) {
  if (!npids) return -1;
  double total = 0;
  for (int i = 0; i < npids; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
    double v = stat_cpu_s(path);
    if (v < 0) return -1;
    total += v;
  }
  return total;
}

double thread_cpu_s(int tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  return stat_cpu_s(path);
}

double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

