/* Disk writer: sequence-numbered, checksummed 4 KiB blocks written as a
 * ring over a block device, flushed (fdatasync) before being acknowledged.
 * Sequence s lives in slot (s-1) % nblocks. Verify scans the whole device,
 * so it also works after a cold boot with no in-memory state. */
#include "guestd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK 4096u
#define BWORDS (BLK / 8u)
#define MAGIC 0x4b5344504f484d56ull /* "VMHOPDSK" little-endian */
#define MAX_BATCH 256u              /* blocks per write+flush */
#define SCAN_CHUNK 256u             /* blocks per read when scanning (1 MiB) */
#define MAX_BAD 8

/* Block layout (64-bit little-endian words):
 *  w[0] magic  w[1] seq  w[2] slot  w[3] nblocks  w[4] guest uptime ms
 *  w[5..510] pattern(seq)  w[511] checksum over w[0..510] */
enum { B_EMPTY = 0, B_VALID = 1, B_CORRUPT = 2 };

static struct {
    pthread_mutex_t lock; /* held by the writer for each batch, and by verify */
    pthread_mutex_t ctl;  /* serialises start/stop/verify commands */
    char dev[128];
    int fd;
    uint64_t nblocks;
    long rate;            /* KiB/s */
    uint64_t next_seq;    /* next sequence number to write */
    uint64_t last_ack;    /* highest sequence flushed (or found on disk at resume) */
    uint64_t resume_from; /* newest valid seq found on disk when this boot first started, 0 = fresh */
    int have_state;       /* next_seq/last_ack are known for dev */
    int running;
    volatile int stop_req;
    pthread_t th;
    int have_thread;      /* th needs joining */
    char err[160];
    uint64_t errors;
} D = {.lock = PTHREAD_MUTEX_INITIALIZER, .ctl = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

void disk_init(void) {
    if (g_cfg.disk[0]) snprintf(D.dev, sizeof(D.dev), "%s", g_cfg.disk);
    D.rate = g_cfg.disk_rate;
}

static inline uint64_t bpat(uint64_t seq, uint64_t k) {
    uint64_t x = seq * 0xD6E8FEB86659FD93ull + k * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29);
}

static uint64_t bsum(const uint64_t *w) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned k = 0; k < BWORDS - 1; k++) {
        h ^= w[k];
        h *= 0x100000001b3ull;
        h ^= h >> 32;
    }
    return h;
}

static void fill_block(uint64_t *w, uint64_t seq, uint64_t nblocks) {
    w[0] = MAGIC;
    w[1] = seq;
    w[2] = (seq - 1) % nblocks;
    w[3] = nblocks;
    w[4] = boot_ms();
    for (unsigned k = 5; k < BWORDS - 1; k++) w[k] = bpat(seq, k);
    w[BWORDS - 1] = bsum(w);
}

/* Classify the block found in slot; *seq gets its sequence when valid. */
static int check_block(const uint64_t *w, uint64_t slot, uint64_t nblocks, uint64_t *seq) {
    if (w[0] != MAGIC) {
        for (unsigned k = 0; k < BWORDS; k++)
            if (w[k]) return B_CORRUPT;
        return B_EMPTY;
    }
    if (w[BWORDS - 1] != bsum(w) || w[1] == 0 || w[2] != slot || w[3] != nblocks || (w[1] - 1) % nblocks != slot)
        return B_CORRUPT;
    for (unsigned k = 5; k < BWORDS - 1; k++)
        if (w[k] != bpat(w[1], k)) return B_CORRUPT;
    *seq = w[1];
    return B_VALID;
}

static int open_dev(const char *dev, int flags, uint64_t *nblocks, char *err, size_t errlen) {
    int fd = open(dev, flags | O_DIRECT | O_CLOEXEC);
    if (fd < 0 && errno == EINVAL) fd = open(dev, flags | O_CLOEXEC); /* e.g. tmpfs file in host tests */
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", dev, strerror(errno));
        return -1;
    }
    uint64_t bytes = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) bytes = (uint64_t)st.st_size;
    else if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) bytes = 0;
    *nblocks = bytes / BLK;
    if (*nblocks < 2) {
        snprintf(err, errlen, "%s: too small (%llu bytes)", dev, (unsigned long long)bytes);
        close(fd);
        return -1;
    }
    return fd;
}

/* Scan the device. Fills seqs[]/cls[] (if given) and returns newest valid seq. */
static int scan(int fd, uint64_t nblocks, uint64_t *seqs, uint8_t *cls, uint64_t *newest, char *err, size_t errlen) {
    uint64_t *buf = NULL;
    if (posix_memalign((void **)&buf, BLK, SCAN_CHUNK * BLK) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *newest = 0;
    for (uint64_t b = 0; b < nblocks; b += SCAN_CHUNK) {
        uint64_t n = nblocks - b < SCAN_CHUNK ? nblocks - b : SCAN_CHUNK;
        size_t want = (size_t)(n * BLK), got = 0;
        while (got < want) {
            ssize_t r = pread(fd, (char *)buf + got, want - got, (off_t)(b * BLK + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                snprintf(err, errlen, "read at block %llu: %s", (unsigned long long)(b + got / BLK),
                         r < 0 ? strerror(errno) : "short read");
                free(buf);
                return -1;
            }
            got += (size_t)r;
        }
        for (uint64_t i = 0; i < n; i++) {
            uint64_t s = 0;
            int c = check_block(buf + i * BWORDS, b + i, nblocks, &s);
            if (cls) cls[b + i] = (uint8_t)c;
            if (seqs) seqs[b + i] = s;
            if (c == B_VALID && s > *newest) *newest = s;
        }
    }
    free(buf);
    return 0;
}

static void *disk_main(void *arg) {
    (void)arg;
    uint64_t *buf = NULL;
    if (posix_memalign((void **)&buf, BLK, MAX_BATCH * BLK) != 0) {
        snprintf(D.err, sizeof(D.err), "out of memory");
        D.running = 0;
        return NULL;
    }
    const long tick_ms = 20;
    uint64_t base = mono_ms(), done = 0, last_log = mono_ms(), logged_ack = ~0ull;
    while (!__atomic_load_n(&D.stop_req, __ATOMIC_RELAXED)) {
        uint64_t per_s = (uint64_t)(D.rate > 0 ? D.rate : 1) * 1024u / BLK; /* blocks/s */
        if (per_s == 0) per_s = 1;
        uint64_t now = mono_ms();
        uint64_t target = (now - base) * per_s / 1000u;
        if (target > done + per_s) { /* more than 1 s behind (VM paused): re-base */
            base = now;
            done = 0;
            target = 0;
        }
        uint64_t want = target - done;
        while (want > 0 && !D.stop_req) {
            uint64_t slot = (D.next_seq - 1) % D.nblocks;
            uint64_t n = want;
            if (n > MAX_BATCH) n = MAX_BATCH;
            if (n > D.nblocks - slot) n = D.nblocks - slot; /* no wrap inside one write */
            for (uint64_t i = 0; i < n; i++) fill_block(buf + i * BWORDS, D.next_seq + i, D.nblocks);
            pthread_mutex_lock(&D.lock);
            size_t len = (size_t)(n * BLK), off = 0;
            int bad = 0;
            while (off < len) {
                ssize_t w = pwrite(D.fd, (char *)buf + off, len - off, (off_t)(slot * BLK + off));
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) {
                    snprintf(D.err, sizeof(D.err), "write seq %llu: %s", (unsigned long long)D.next_seq,
                             w < 0 ? strerror(errno) : "short write");
                    bad = 1;
                    break;
                }
                off += (size_t)w;
            }
            if (!bad && fdatasync(D.fd) != 0) {
                snprintf(D.err, sizeof(D.err), "fdatasync: %s", strerror(errno));
                bad = 1;
            }
            if (!bad) {
                D.next_seq += n;
                __atomic_store_n(&D.last_ack, D.next_seq - 1, __ATOMIC_RELAXED);
            }
            pthread_mutex_unlock(&D.lock);
            if (bad) {
                D.errors++;
                console_printf("disk error %s; writer stopped", D.err);
                __atomic_store_n(&D.running, 0, __ATOMIC_RELAXED);
                free(buf);
                return NULL;
            }
            want -= n;
            done += n;
        }
        now = mono_ms();
        if (now - last_log >= 1000) {
            uint64_t a = __atomic_load_n(&D.last_ack, __ATOMIC_RELAXED);
            if (a != logged_ack) console_printf("disk ack %llu", (unsigned long long)a);
            logged_ack = a;
            last_log = now;
        }
        sleep_ms(tick_ms);
    }
    free(buf);
    uint64_t a = __atomic_load_n(&D.last_ack, __ATOMIC_RELAXED);
    console_printf("disk ack %llu", (unsigned long long)a);
    return NULL;
}

static void stop_locked(void) {
    if (D.have_thread) {
        __atomic_store_n(&D.stop_req, 1, __ATOMIC_RELAXED);
        pthread_join(D.th, NULL);
        D.have_thread = 0;
    }
    D.running = 0;
    D.stop_req = 0;
}

void disk_start(const char *dev, long rate, char *out, size_t outlen) {
    pthread_mutex_lock(&D.ctl);
    if (dev && dev[0] && strcmp(dev, D.dev) != 0) {
        /* switch devices only once the new one opens; else keep the old state */
        char err[160];
        uint64_t nb = 0;
        int fd = valid_path(dev) ? open_dev(dev, O_RDWR, &nb, err, sizeof(err)) : -1;
        if (!valid_path(dev)) snprintf(err, sizeof(err), "bad device path");
        if (fd < 0) {
            snprintf(out, outlen, "{\"ok\":false,\"error\":\"%s\"}", err);
            goto done;
        }
        stop_locked();
        if (D.fd >= 0) close(D.fd);
        D.fd = fd;
        D.nblocks = nb;
        D.have_state = 0;
        D.resume_from = 0;
        D.last_ack = 0;
        snprintf(D.dev, sizeof(D.dev), "%s", dev);
    }
    stop_locked();
    if (rate > 0) D.rate = rate;
    if (!D.dev[0]) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"no disk device (vmhop.disk or disk-start DEV)\"}");
        goto done;
    }
    if (D.fd < 0) {
        char err[160];
        D.fd = open_dev(D.dev, O_RDWR, &D.nblocks, err, sizeof(err));
        if (D.fd < 0) {
            snprintf(D.err, sizeof(D.err), "%s", err);
            snprintf(out, outlen, "{\"ok\":false,\"error\":\"%s\"}", err);
            goto done;
        }
    }
    if (!D.have_state) {
        /* first start on this device in this boot: continue after the newest block on it */
        char err[160];
        uint64_t newest = 0;
        pthread_mutex_lock(&D.lock);
        int r = scan(D.fd, D.nblocks, NULL, NULL, &newest, err, sizeof(err));
        pthread_mutex_unlock(&D.lock);
        if (r != 0) {
            snprintf(out, outlen, "{\"ok\":false,\"error\":\"%s\"}", err);
            goto done;
        }
        D.resume_from = newest;
        D.last_ack = newest;
        D.next_seq = newest + 1;
        D.have_state = 1;
        if (newest) console_printf("disk resume %s after seq %llu", D.dev, (unsigned long long)newest);
    }
    D.err[0] = 0;
    D.stop_req = 0;
    D.running = 1;
    if (pthread_create(&D.th, NULL, disk_main, NULL) != 0) {
        D.running = 0;
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"cannot start thread\"}");
        goto done;
    }
    D.have_thread = 1;
    snprintf(out, outlen, "{\"ok\":true,\"dev\":\"%s\",\"rate\":%ld,\"blocks\":%llu,\"next\":%llu,\"resumed_from\":%llu}",
             D.dev, D.rate, (unsigned long long)D.nblocks, (unsigned long long)D.next_seq,
             (unsigned long long)D.resume_from);
done:
    pthread_mutex_unlock(&D.ctl);
}

void disk_stop(char *out, size_t outlen) {
    pthread_mutex_lock(&D.ctl);
    int was = D.running;
    stop_locked();
    snprintf(out, outlen, "{\"ok\":true,\"was_running\":%s,\"ack\":%llu}", was ? "true" : "false",
             (unsigned long long)D.last_ack);
    pthread_mutex_unlock(&D.ctl);
}

void disk_shutdown(void) {
    pthread_mutex_lock(&D.ctl);
    stop_locked();
    if (D.fd >= 0) fsync(D.fd);
    pthread_mutex_unlock(&D.ctl);
}

/* Window checked: [lo, hi] where hi = max(last ack known this boot, minack),
 * or the newest valid block when neither is known (cold boot), and lo is
 * such that no slot in the window can have been legitimately overwritten
 * by a newer block. Unacknowledged blocks above hi are not required. */
void disk_verify(const char *dev, uint64_t minack, char *out, size_t outlen) {
    pthread_mutex_lock(&D.ctl);
    const char *d = (dev && dev[0]) ? dev : D.dev;
    uint64_t *seqs = NULL;
    uint8_t *cls = NULL;
    int fd = -1;
    char err[160];
    if (!d[0] || !valid_path(d)) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"no disk device (vmhop.disk or disk-verify DEV)\"}");
        goto done;
    }
    int same = !strcmp(d, D.dev) && D.have_state;
    uint64_t nblocks;
    fd = open_dev(d, O_RDONLY, &nblocks, err, sizeof(err));
    if (fd < 0) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"%s\"}", err);
        goto done;
    }
    seqs = malloc(nblocks * sizeof(uint64_t));
    cls = malloc(nblocks);
    if (!seqs || !cls) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"out of memory\"}");
        goto done;
    }
    uint64_t t0 = mono_ms(), newest = 0;
    pthread_mutex_lock(&D.lock); /* writer holds off while we read */
    uint64_t known = same ? D.last_ack : 0;
    uint64_t resumed = same ? D.resume_from : 0;
    int r = scan(fd, nblocks, seqs, cls, &newest, err, sizeof(err));
    pthread_mutex_unlock(&D.lock);
    if (r != 0) {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"%s\"}", err);
        goto done;
    }
    uint64_t hi = known > minack ? known : minack;
    if (hi == 0) hi = newest;
    uint64_t top = newest > hi ? newest : hi;
    uint64_t lo = top >= nblocks ? top - nblocks + 1 : 1;
    uint64_t missing = 0, corrupt = 0, checked = 0, first[MAX_BAD];
    unsigned nfirst = 0;
    for (uint64_t s = lo; s <= hi && hi > 0; s++) {
        uint64_t slot = (s - 1) % nblocks;
        checked++;
        if (cls[slot] == B_VALID && seqs[slot] == s) continue;
        if (cls[slot] == B_CORRUPT) corrupt++;
        else missing++;
        if (nfirst < MAX_BAD) first[nfirst++] = s;
    }
    /* After a cold boot the writer resumed after the newest block it found;
     * acknowledged blocks above that were lost even if since rewritten. */
    uint64_t lost_tail = (same && resumed && minack > resumed) ? minack - resumed : 0;
    uint64_t ms = mono_ms() - t0;
    char list[MAX_BAD * 24 + 4] = "";
    size_t l = 0;
    for (unsigned j = 0; j < nfirst; j++)
        l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%llu", j ? "," : "", (unsigned long long)first[j]);
    int ok = missing == 0 && corrupt == 0 && lost_tail == 0;
    snprintf(out, outlen,
             "{\"ok\":%s%s,\"dev\":\"%s\",\"blocks\":%llu,\"newest\":%llu,\"ack\":%llu,\"from\":%llu,"
             "\"checked\":%llu,\"missing\":%llu,\"corrupt\":%llu,\"lost_tail\":%llu,\"first_bad\":[%s],\"ms\":%llu}",
             ok ? "true" : "false", ok ? "" : ",\"error\":\"disk verify failed\"", d, (unsigned long long)nblocks,
             (unsigned long long)newest, (unsigned long long)hi, (unsigned long long)(hi ? lo : 0),
             (unsigned long long)checked, (unsigned long long)missing, (unsigned long long)corrupt,
             (unsigned long long)lost_tail, list, (unsigned long long)ms);
done:
    if (fd >= 0) close(fd);
    free(seqs);
    free(cls);
    pthread_mutex_unlock(&D.ctl);
}

void disk_status_json(char *out, size_t outlen) {
    snprintf(out, outlen,
             "{\"dev\":\"%s\",\"rate\":%ld,\"ack\":%llu,\"resumed_from\":%llu,\"running\":%s,\"errors\":%llu%s%s%s}",
             D.dev[0] ? D.dev : "", D.rate, (unsigned long long)__atomic_load_n(&D.last_ack, __ATOMIC_RELAXED),
             (unsigned long long)D.resume_from, __atomic_load_n(&D.running, __ATOMIC_RELAXED) ? "true" : "false",
             (unsigned long long)D.errors, D.err[0] ? ",\"error\":\"" : "", D.err[0] ? D.err : "",
             D.err[0] ? "\"" : "");
}
