/* Memory dirtier: rewrites N MiB page by page at R MiB/s. Each page holds
 * its index and a generation number plus a pattern derived from both; the
 * generation expected for each page lives in a separate table, so verify
 * can tell whether every page still holds what was last written to it. */
#include "guestd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define WORDS (PAGE / 8u)
#define PAGES_PER_MIB 256u
#define MAX_BAD 8

static struct {
    pthread_mutex_t lock;     /* guards everything below except the flags */
    pthread_mutex_t ctl;      /* serialises start/stop/verify commands */
    uint8_t *buf;
    uint32_t *gen;            /* expected generation per page, 0 = never written */
    size_t npages;
    long mib, rate;
    uint32_t pass;            /* generation being written */
    size_t cursor;            /* next page to write */
    uint64_t written;         /* pages written in total */
    int running;
    volatile int stop_req;
    pthread_t th;
} M = {.lock = PTHREAD_MUTEX_INITIALIZER, .ctl = PTHREAD_MUTEX_INITIALIZER};

void mem_init(void) {}

static inline uint64_t pat(uint64_t idx, uint64_t gen, uint64_t k) {
    uint64_t x = (idx * 0x9E3779B97F4A7C15ull) ^ (gen * 0xC2B2AE3D27D4EB4Full);
    return x + k * 0x165667B19E3779F9ull;
}

static void write_page(size_t i, uint32_t g) {
    uint64_t *w = (uint64_t *)(M.buf + i * PAGE);
    w[0] = i;
    w[1] = g;
    for (uint64_t k = 2; k < WORDS; k++) w[k] = pat(i, g, k);
}

static int check_page(size_t i, uint32_t g) {
    const uint64_t *w = (const uint64_t *)(M.buf + i * PAGE);
    if (g == 0) {
        for (uint64_t k = 0; k < WORDS; k++)
            if (w[k]) return 0;
        return 1;
    }
    if (w[0] != i || w[1] != g) return 0;
    for (uint64_t k = 2; k < WORDS; k++)
        if (w[k] != pat(i, g, k)) return 0;
    return 1;
}

/* Write n pages; caller holds M.lock. */
static void write_pages(size_t n) {
    for (size_t j = 0; j < n; j++) {
        write_page(M.cursor, M.pass);
        M.gen[M.cursor] = M.pass;
        M.written++;
        if (++M.cursor == M.npages) {
            M.cursor = 0;
            M.pass++;
        }
    }
}

static void *mem_main(void *arg) {
    (void)arg;
    const long tick_ms = 10;
    uint64_t base = mono_ms(), done = 0;
    while (!__atomic_load_n(&M.stop_req, __ATOMIC_RELAXED)) {
        size_t n;
        if (M.rate <= 0) {
            n = 256; /* unthrottled, in 1 MiB steps so verify/stop get in */
        } else {
            uint64_t per_s = (uint64_t)M.rate * PAGES_PER_MIB;
            uint64_t now = mono_ms();
            uint64_t target = (now - base) * per_s / 1000u;
            if (target > done + per_s) { /* more than 1 s behind (VM was paused): re-base */
                base = now;
                done = 0;
                target = 0;
            }
            n = (size_t)(target - done);
            if (n > 4096) n = 4096;
            done += n;
        }
        if (n) {
            pthread_mutex_lock(&M.lock);
            write_pages(n);
            pthread_mutex_unlock(&M.lock);
        }
        if (M.rate > 0) sleep_ms(tick_ms);
        else sched_yield();
    }
    return NULL;
}

static long mem_available_mib(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

static void stop_locked(void) {
    if (!M.running) return;
    __atomic_store_n(&M.stop_req, 1, __ATOMIC_RELAXED);
    pthread_join(M.th, NULL);
    M.running = 0;
    M.stop_req = 0;
}

void mem_start(long mib, long rate, char *out, size_t outlen) {
    pthread_mutex_lock(&M.ctl);
    if (mib <= 0) mib = M.buf ? M.mib : g_cfg.mem_mib;
    if (rate < 0) rate = M.buf ? M.rate : g_cfg.mem_rate;
    if (mib <= 0) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"usage: mem-start MiB [MiB/s]\"}");
        goto done;
    }
    int realloc_buf = !M.buf || mib != M.mib;
    if (realloc_buf) {
        /* refuse before touching the current buffer; its memory would be freed first */
        long avail = mem_available_mib();
        long mine = M.buf ? M.mib : 0;
        if (avail >= 0 && mib + 16 > avail + mine) {
            snprintf(out, outlen, "{\"ok\":false,\"error\":\"%ld MiB requested, only %ld MiB available\"}", mib,
                     avail + mine > 16 ? avail + mine - 16 : 0);
            goto done;
        }
    }
    stop_locked();
    if (realloc_buf) {
        if (M.buf) {
            pthread_mutex_lock(&M.lock);
            munmap(M.buf, M.npages * PAGE);
            free(M.gen);
            M.buf = NULL;
            M.gen = NULL;
            M.npages = 0;
            pthread_mutex_unlock(&M.lock);
        }
        size_t npages = (size_t)mib * PAGES_PER_MIB;
        void *b = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint32_t *g = calloc(npages, sizeof(uint32_t));
        if (b == MAP_FAILED || !g) {
            if (b != MAP_FAILED) munmap(b, npages * PAGE);
            free(g);
            snprintf(out, outlen, "{\"ok\":false,\"error\":\"cannot allocate %ld MiB\"}", mib);
            goto done;
        }
        pthread_mutex_lock(&M.lock);
        M.buf = b;
        M.gen = g;
        M.npages = npages;
        M.mib = mib;
        M.pass = 1;
        M.cursor = 0;
        M.written = 0;
        pthread_mutex_unlock(&M.lock);
    }
    M.rate = rate;
    M.stop_req = 0;
    if (pthread_create(&M.th, NULL, mem_main, NULL) != 0) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"cannot start thread\"}");
        goto done;
    }
    M.running = 1;
    snprintf(out, outlen, "{\"ok\":true,\"mib\":%ld,\"rate\":%ld,\"gen\":%u}", M.mib, M.rate, M.pass);
done:
    pthread_mutex_unlock(&M.ctl);
}

void mem_stop(char *out, size_t outlen) {
    pthread_mutex_lock(&M.ctl);
    int was = M.running;
    stop_locked();
    snprintf(out, outlen, "{\"ok\":true,\"was_running\":%s,\"gen\":%u,\"written\":%llu}", was ? "true" : "false",
             M.pass, (unsigned long long)M.written);
    pthread_mutex_unlock(&M.ctl);
}

/* Runs with the writer held off (M.lock), so the check is consistent. */
void mem_verify(char *out, size_t outlen) {
    pthread_mutex_lock(&M.ctl);
    if (!M.buf) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"mem dirtier not started\"}");
        pthread_mutex_unlock(&M.ctl);
        return;
    }
    uint64_t t0 = mono_ms();
    pthread_mutex_lock(&M.lock);
    size_t bad = 0, first[MAX_BAD], nfirst = 0, touched = 0;
    for (size_t i = 0; i < M.npages; i++) {
        if (M.gen[i]) touched++;
        if (!check_page(i, M.gen[i])) {
            if (nfirst < MAX_BAD) first[nfirst++] = i;
            bad++;
        }
    }
    uint32_t pass = M.pass;
    pthread_mutex_unlock(&M.lock);
    uint64_t ms = mono_ms() - t0;
    char list[MAX_BAD * 24 + 4] = "";
    size_t l = 0;
    for (size_t j = 0; j < nfirst; j++)
        l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%zu", j ? "," : "", first[j]);
    if (bad)
        snprintf(out, outlen,
                 "{\"ok\":false,\"error\":\"mem verify failed\",\"pages\":%zu,\"touched\":%zu,\"gen\":%u,"
                 "\"bad\":%zu,\"first_bad\":[%s],\"ms\":%llu}",
                 M.npages, touched, pass, bad, list, (unsigned long long)ms);
    else
        snprintf(out, outlen, "{\"ok\":true,\"pages\":%zu,\"touched\":%zu,\"gen\":%u,\"bad\":0,\"ms\":%llu}", M.npages,
                 touched, pass, (unsigned long long)ms);
    pthread_mutex_unlock(&M.ctl);
}

/* Test aid: flip one byte of page `page` behind the table's back, so a
 * client can check that mem-verify (and its own harness) notices. */
void mem_corrupt(long page, char *out, size_t outlen) {
    pthread_mutex_lock(&M.ctl);
    pthread_mutex_lock(&M.lock);
    if (!M.buf || page < 0 || (size_t)page >= M.npages) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"no such page\"}");
    } else {
        M.buf[(size_t)page * PAGE + 100] ^= 0x5a;
        snprintf(out, outlen, "{\"ok\":true,\"page\":%ld}", page);
    }
    pthread_mutex_unlock(&M.lock);
    pthread_mutex_unlock(&M.ctl);
}

void mem_status_json(char *out, size_t outlen) {
    /* lock-free snapshot: fine for status, may be a page or two stale */
    snprintf(out, outlen, "{\"mib\":%ld,\"rate\":%ld,\"gen\":%u,\"written_mib\":%llu,\"running\":%s}", M.buf ? M.mib : 0L,
             M.buf ? M.rate : g_cfg.mem_rate, M.pass, (unsigned long long)(M.written / PAGES_PER_MIB), M.running ? "true" : "false");
}
