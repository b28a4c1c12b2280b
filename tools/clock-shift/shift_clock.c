/* The wall clock of every process that preloads this reads as a date of our choosing, while the
 * monotonic clock, timers and sleeps are left alone: the same as a machine whose clock has been set
 * to that date, which is what a clock-free test suite has to survive (issue 13). libfaketime shifts
 * the monotonic clock too, and Python's timed waits then never return.
 *
 * KINLINK_CLOCK_OFFSET is the number of seconds to add (run computes it once, so that every child
 * process of a test run agrees on the date and time keeps running). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long offset_seconds(void) {
    static int read = 0;
    static long long offset = 0;
    if (!read) {
        const char *text = getenv("KINLINK_CLOCK_OFFSET");
        offset = text ? strtoll(text, NULL, 10) : 0;
        read = 1;
    }
    return offset;
}

static int is_wall_clock(clockid_t id) {
    return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *) = NULL;
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(id, ts);
    if (rc == 0 && is_wall_clock(id)) ts->tv_sec += offset_seconds();
    return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    static int (*real)(struct timeval *restrict, void *restrict) = NULL;
    if (!real) real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT,
                                                                             "gettimeofday");
    int rc = real(tv, tz);
    if (rc == 0) tv->tv_sec += offset_seconds();
    return rc;
}

time_t time(time_t *out) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (out) *out = now.tv_sec;
    return now.tv_sec;
}

int timespec_get(struct timespec *ts, int base) {
    if (base != TIME_UTC) return 0;
    return clock_gettime(CLOCK_REALTIME, ts) == 0 ? base : 0;
}

/* A sleep until an absolute wall-clock time was computed from the shifted clock: shift it back. */
int clock_nanosleep(clockid_t id, int flags, const struct timespec *request,
                    struct timespec *remain) {
    static int (*real)(clockid_t, int, const struct timespec *, struct timespec *) = NULL;
    if (!real) real = (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(
        RTLD_NEXT, "clock_nanosleep");
    if ((flags & TIMER_ABSTIME) && is_wall_clock(id) && request) {
        struct timespec unshifted = *request;
        unshifted.tv_sec -= offset_seconds();
        return real(id, flags, &unshifted, remain);
    }
    return real(id, flags, request, remain);
}
