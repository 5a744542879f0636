/* vmhop-guestd main: configuration, console, heartbeat. */
#include "guestd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct config g_cfg = {
    .ip = "0.0.0.0",
    .port = 7777,
    .mem_mib = 0,
    .mem_rate = 8,
    .disk = "",
    .disk_rate = 512,
    .disk_auto = 1,
    .console = "/dev/console",
};

static int console_fd = 2;
static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t console_drops; /* lines not written because the console was full */
static volatile uint64_t g_tick; /* last tick printed; read with __atomic */

uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t boot_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static char g_boot_id[40];

/* Hex digits and dashes only, so the id never needs JSON escaping. */
static int valid_boot_id(const char *s) {
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || *s == '-')) return 0;
    return 1;
}

const char *boot_id(void) { return g_boot_id; }

/* /proc/sys/kernel/random/boot_id when /proc is there (init mounts it); otherwise a
 * random id in the same format, which also changes on every boot. */
static void init_boot_id(void) {
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        int ok = fgets(g_boot_id, sizeof(g_boot_id), f) != NULL;
        fclose(f);
        g_boot_id[strcspn(g_boot_id, "\n")] = 0;
        if (ok && strlen(g_boot_id) == 36 && valid_boot_id(g_boot_id)) return;
    }
    unsigned char r[16] = {0};
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t t = boot_ms() ^ ((uint64_t)getpid() << 32) ^ mono_ms();
        memcpy(r, &t, sizeof(t));
    }
    snprintf(g_boot_id, sizeof(g_boot_id), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

uint64_t current_tick(void) { return __atomic_load_n(&g_tick, __ATOMIC_RELAXED); }
uint64_t console_dropped(void) { return __atomic_load_n(&console_drops, __ATOMIC_RELAXED); }

void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Accept only simple device paths, so they never need JSON escaping. */
int valid_path(const char *s) {
    if (!s || s[0] != '/' || strlen(s) >= sizeof(g_cfg.disk)) return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* One write() per line so lines from different threads never interleave. */
void console_printf(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof(buf) - 2) n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    pthread_mutex_lock(&console_lock);
    ssize_t off = 0;
    int waits = 0;
    while (off < n) {
        ssize_t w = write(console_fd, buf + off, (size_t)(n - off));
        if (w < 0) {
            if (errno == EINTR) continue;
            /* console is non-blocking: if nobody drains it (e.g. a serial
             * socket without a reader) drop the line rather than stall */
            if (errno == EAGAIN && waits++ < 2) {
                struct pollfd p = {.fd = console_fd, .events = POLLOUT};
                poll(&p, 1, 100);
                continue;
            }
            __atomic_add_fetch(&console_drops, 1, __ATOMIC_RELAXED);
            break;
        }
        off += w;
    }
    pthread_mutex_unlock(&console_lock);
}

/* Heartbeat: "tick N" every 100 ms on absolute deadlines. After a stall
 * (VM paused for migration) it does not burst to catch up: it re-bases. */
static void *heartbeat_main(void *arg) {
    (void)arg;
    const long period_ns = 100L * 1000000L;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        uint64_t t = __atomic_add_fetch(&g_tick, 1, __ATOMIC_RELAXED);
        console_printf("tick %llu", (unsigned long long)t);
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t late_ns = (int64_t)(now.tv_sec - next.tv_sec) * 1000000000LL + (now.tv_nsec - next.tv_nsec);
        if (late_ns > period_ns) next = now; /* fell behind: re-base */
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
        }
    }
    return NULL;
}

static void set_opt(const char *key, const char *val) {
    if (!strcmp(key, "ip")) {
        /* "10.77.0.5/24" -> "10.77.0.5" */
        snprintf(g_cfg.ip, sizeof(g_cfg.ip), "%s", val);
        char *slash = strchr(g_cfg.ip, '/');
        if (slash) *slash = 0;
    } else if (!strcmp(key, "port")) {
        long p = strtol(val, NULL, 10);
        if (p > 0 && p < 65536) g_cfg.port = (int)p;
    } else if (!strcmp(key, "mem")) {
        g_cfg.mem_mib = strtol(val, NULL, 10);
    } else if (!strcmp(key, "memrate")) {
        g_cfg.mem_rate = strtol(val, NULL, 10);
    } else if (!strcmp(key, "disk")) {
        if (!strcmp(val, "none") || !val[0]) g_cfg.disk[0] = 0;
        else if (valid_path(val)) snprintf(g_cfg.disk, sizeof(g_cfg.disk), "%s", val);
    } else if (!strcmp(key, "diskrate")) {
        g_cfg.disk_rate = strtol(val, NULL, 10);
    } else if (!strcmp(key, "diskauto")) {
        g_cfg.disk_auto = strtol(val, NULL, 10) != 0;
    } else if (!strcmp(key, "console")) {
        snprintf(g_cfg.console, sizeof(g_cfg.console), "%s", val);
    }
}

/* vmhop.KEY=VALUE words from the kernel command line. */
static void parse_cmdline(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
        if (strncmp(w, "vmhop.", 6) != 0) continue;
        char *eq = strchr(w, '=');
        if (!eq) continue;
        *eq = 0;
        set_opt(w + 6, eq + 1);
    }
}

static void usage(void) {
    fprintf(stderr,
            "usage: vmhop-guestd [--cmdline FILE] [--no-cmdline] [--ip A] [--port N] [--mem MiB]\n"
            "                    [--memrate MiB/s] [--disk DEV] [--diskrate KiB/s] [--diskauto 0|1]\n"
            "                    [--console PATH]\n"
            "Reads vmhop.* options from /proc/cmdline first; flags override.\n");
}

int main(int argc, char **argv) {
    const char *cmdline = "/proc/cmdline";
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--no-cmdline")) cmdline = NULL;
        else if (!strcmp(argv[i], "--cmdline") && i + 1 < argc) cmdline = argv[++i];
    if (cmdline) parse_cmdline(cmdline);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-cmdline")) continue;
        if (!strcmp(a, "--cmdline")) {
            i++;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        }
        if (strncmp(a, "--", 2) == 0 && i + 1 < argc) {
            set_opt(a + 2, argv[++i]);
            continue;
        }
        usage();
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    init_boot_id();
    int fd = open(g_cfg.console, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) console_fd = fd;
    struct termios tio;
    if (isatty(console_fd) && tcgetattr(console_fd, &tio) == 0) {
        tio.c_oflag &= ~(tcflag_t)ONLCR; /* plain "\n" line ends on the serial log */
        tcsetattr(console_fd, TCSANOW, &tio);
    }

    mem_init();
    disk_init();

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &attr, heartbeat_main, NULL) != 0) {
        console_printf("vmhop-guestd: cannot start heartbeat");
        return 1;
    }
    powerbtn_start();

    int lfd = -1;
    for (int tries = 0; lfd < 0; tries++) {
        lfd = server_listen(g_cfg.port);
        if (lfd < 0) {
            if (tries == 0 || tries % 10 == 0) console_printf("vmhop-guestd: listen on port %d failed: %s, retrying", g_cfg.port, strerror(errno));
            sleep_ms(500);
        }
    }
    /* Workloads from the command line start before the ready line (and
     * before the first connection is served), so a client that got a reply
     * knows they are running. The disk writer's start scans the device. */
    if (g_cfg.mem_mib > 0) {
        char out[512];
        mem_start(g_cfg.mem_mib, g_cfg.mem_rate, out, sizeof(out));
        console_printf("mem autostart %s", out);
    }
    if (g_cfg.disk[0] && g_cfg.disk_auto) {
        char out[512];
        disk_start(g_cfg.disk, g_cfg.disk_rate, out, sizeof(out));
        console_printf("disk autostart %s", out);
    }
    console_printf("vmhop-guest ready ip=%s port=%d version=%s uptime_ms=%llu boot_id=%s", g_cfg.ip, g_cfg.port,
                   GUESTD_VERSION, (unsigned long long)boot_ms(), boot_id());
    pthread_attr_destroy(&attr);

    server_loop(lfd);
    return 0;
}
